"""CloudWatch Embedded Metric Format on stdout, written by Powertools for AWS Lambda's EMF provider.

In Lambda, stdout is the function's log stream, from which CloudWatch extracts the metrics: no
agent, no API call, no permission. Locally (`make run`) the same lines appear in the console.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from chalicelib.domain.metrics import NAMESPACE, Metric


class EmfMetrics:
    """Publishes each group of values as one EMF line in namespace Burgernet."""

    def publish(
        self,
        values: Mapping[Metric, float],
        dimension: tuple[str, str] | None = None,
        action_id: str | None = None,
    ) -> None:
        """Write one EMF line: dimension sets [] and, with a dimension, [name] too."""
        if not values:
            return
        # A provider per line: its state is its own, whatever other threads publish meanwhile.
        emf = AmazonCloudWatchEMFProvider(namespace=NAMESPACE)
        for metric, value in values.items():
            emf.add_metric(name=metric.value, unit=metric.unit, value=value)
        if dimension is not None:
            name, member = dimension
            emf.add_dimensions(**{name: member})  # beside the provider's own empty set
        if action_id:
            emf.add_metadata("action_id", action_id)  # searchable in the log, not a dimension
        emf.flush_metrics()
