#!/usr/bin/env python3
"""A real SMTP server for Bouquet's email tests (aiosmtpd), that behaves as relays do.

    python3 relay.py PORT OUTPUT_DIR

Each accepted message is parsed with Python's own email package (independent of the
Rust code that built it) and written to OUTPUT_DIR as NNNN.json: arrival time, envelope,
headers, the text and HTML parts, MIME defects; its inline images as NNNN-<cid>.png.
The raw message is kept as NNNN.eml.

Recipients steer it, as real relays' answers would:
  reject…@   550 for good (the mailbox does not exist); each refusal is added to
             OUTPUT_DIR/refused.txt
  greylist…@ 451 "try again later" the first time, accepted after
  slow…@     accepted, but the 250 reply comes after RELAY_SLOW_SECONDS (default 5):
             a sender killed meanwhile cannot know the message arrived
Prints "ready" once it listens.
"""

import asyncio
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.greylisted = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            with open(os.path.join(self.out, "refused.txt"), "a") as f:
                f.write(address + "\n")
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("greylist") and address not in self.greylisted:
            self.greylisted.add(address)
            return "451 4.7.1 greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.out, "%04d" % self.count)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        summary = {
            "received_at": time.time(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "defects": [repr(d) for d in msg.defects],
            "text": None,
            "html": None,
            "images": [],
        }
        for part in msg.walk():
            summary["defects"] += [repr(d) for d in part.defects]
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and summary["text"] is None:
                summary["text"] = part.get_content()
            elif kind == "text/html" and summary["html"] is None:
                summary["html"] = part.get_content()
            elif kind.startswith("image/"):
                cid = (part.get("Content-ID") or "").strip("<>")
                path = "%s-%s.png" % (stem, cid or len(summary["images"]))
                with open(path, "wb") as f:
                    f.write(part.get_content())
                summary["images"].append({"cid": cid, "path": path, "disposition": part.get_content_disposition()})
        with open(stem + ".eml", "wb") as f:
            f.write(raw)
        # Written whole, then renamed: a reader never sees half a file.
        with open(stem + ".json.tmp", "w") as f:
            json.dump(summary, f)
        os.rename(stem + ".json.tmp", stem + ".json")
        if any(r.split("@")[0].lower().startswith("slow") for r in envelope.rcpt_tos):
            await asyncio.sleep(float(os.environ.get("RELAY_SLOW_SECONDS", "5")))
        return "250 2.0.0 Message accepted"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    controller = Controller(Handler(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
