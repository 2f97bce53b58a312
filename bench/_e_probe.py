import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()
import realtime.live  # noqa: E402

realtime.live.HEARTBEAT_SECONDS = float(os.environ.get("PROBE_HEARTBEAT", "5"))
if os.environ.get("PROBE_SWITCH"):
    sys.setswitchinterval(float(os.environ["PROBE_SWITCH"]))
from project.asgi import application  # noqa: E402,F401
