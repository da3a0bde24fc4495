"""``make serve``: the local stack on 127.0.0.1:$PORT (default 9090) for a real Label Studio."""

from __future__ import annotations

import logging
import os
import signal
import threading

from devstack.stack import DevStack
from functions.common.logs import configure_logging

log = logging.getLogger("devstack.serve")

CONNECT_HELP = """
Connect Label Studio (1.23+) to this backend:
  1. Start Label Studio so it may call a loopback address:
       ML_BLOCK_LOCAL_IP=false SSRF_PROTECTION_ENABLED=false label-studio start
  2. Project > Settings > Model > Connect Model, Backend URL: {url}
  3. So the backend can read uploaded videos, restart this stack with
       LABEL_STUDIO_URL=http://localhost:8080 LABEL_STUDIO_API_KEY=<your access token> make serve
  4. Trainable configs: annotations reach {url}/webhook through the webhook Label Studio creates;
     if WEBHOOK_SECRET is set here, add the header X-Webhook-Secret to that webhook
     (Project > Settings > Webhooks).
"""


def main() -> None:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    stack = DevStack(port=int(os.environ.get("PORT", "9090"))).start()
    log.info(CONNECT_HELP.format(url=stack.url))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
