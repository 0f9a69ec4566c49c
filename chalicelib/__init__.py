"""Burgernet: the Lambda code behind the citizen-alert network."""
