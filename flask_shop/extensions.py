"""Extensions, created here unbound, bound to the app with ``init_app`` in :func:`flask_shop.create_app`."""

from __future__ import annotations

from flask_cors import CORS
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from flask_shop.order_events import OrderEventHub
from flask_shop.outbox import ConfirmationSender
from flask_shop.smorest import ShopApi

api = ShopApi()  # flask-smorest's Api (see smorest.py), named as its documentation names it
login_manager = LoginManager()
cors = CORS()
csrf = CSRFProtect()  # the back office's forms only (flask_shop.admin)
confirmations = ConfirmationSender()
order_event_hub = OrderEventHub()  # the live order sockets (/api/v1/orders/{order_id}/events)
