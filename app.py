"""Burgernet: the Chalice app. It wires blueprints and middleware; the work is in chalicelib."""

from chalice import Chalice

from chalicelib.handlers.callbacks import callbacks
from chalicelib.handlers.control import control_room
from chalicelib.handlers.control_page import control_page
from chalicelib.handlers.devices import app_devices
from chalicelib.handlers.dispatch import dispatch
from chalicelib.handlers.feeds import feeds
from chalicelib.handlers.http import uniform_errors
from chalicelib.handlers.invocations import invocation_ids
from chalicelib.handlers.municipalities import admin
from chalicelib.handlers.openapi import openapi
from chalicelib.handlers.participants import residents
from chalicelib.handlers.photos import action_photos
from chalicelib.handlers.signup_page import signup_page
from chalicelib.handlers.workers import workers

app = Chalice(app_name="burgernet")
app.register_middleware(invocation_ids, "all")
app.register_middleware(uniform_errors, "http")
app.register_blueprint(dispatch)
app.register_blueprint(workers)
app.register_blueprint(admin)
app.register_blueprint(residents)
app.register_blueprint(callbacks)
app.register_blueprint(signup_page)
app.register_blueprint(control_page)
app.register_blueprint(app_devices)
app.register_blueprint(openapi)
app.register_blueprint(feeds)
app.register_blueprint(action_photos)
app.register_blueprint(control_room)
