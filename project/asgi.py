import gc
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup(set_prefix=False)

from project.upload_guard import BodySizeGuard, SpoolingASGIHandler  # noqa: E402

# get_asgi_application(), with request bodies spooled under DATA_DIR.
django_asgi_app = SpoolingASGIHandler()

# Imported after Django is set up: the consumers import models.
from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from project.proxy import TrustedProxyHeaders  # noqa: E402
from project.routing import websocket_application  # noqa: E402

application = TrustedProxyHeaders(
    ProtocolTypeRouter({"http": BodySizeGuard(django_asgi_app), "websocket": websocket_application}),
    settings.TRUSTED_PROXIES,
)

# What is loaded by now lives as long as the process: move it out of the
# garbage collector's full passes, which otherwise scan it all and stall every
# socket for 90-175 ms at a time (measured with 200 live sessions in
# bench/live_proxy.py; 50-70 ms once frozen).
gc.collect()
gc.freeze()

# Database work runs in worker threads. A thread busy in the ORM holds the
# interpreter lock for up to the switch interval each time the event loop
# gives it up at a socket call (the convoy effect): at the default 5 ms, 200
# live sessions ending together stalled everyone's audio by 50-100 ms.
sys.setswitchinterval(0.001)
