"""Check pcmd's ODK Central client against a real Central (read-only; creates nothing).

    CENTRAL_URL=https://central.example.vn CENTRAL_PROJECT=3 CENTRAL_FORM=pcmd_outreach \
    CENTRAL_EMAIL=… CENTRAL_PASSWORD=… .venv/bin/python tools/central_check.py

It logs in (POST /v1/sessions), reads the first OData page (`$top`, `$count`) and follows one
`@odata.nextLink`, lists identities with `$select=__id` (the light scan), and for the newest
submission with a file downloads it once through pcmd's `fetch_all`. It prints a summary; the
password and the session token are never printed. Nothing is written to Central or to pcmd.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote

from pcmd.errors import PcmdError
from pcmd.sync.central import CentralClient

NAMES = ("CENTRAL_URL", "CENTRAL_PROJECT", "CENTRAL_FORM", "CENTRAL_EMAIL", "CENTRAL_PASSWORD")


def main() -> int:
    missing = [name for name in NAMES if not os.environ.get(name)]
    if missing:
        print(f"Thiếu biến môi trường (missing environment variables): {', '.join(missing)}")
        return 2
    env = {name: os.environ[name] for name in NAMES}
    client = CentralClient(
        env["CENTRAL_URL"],
        int(env["CENTRAL_PROJECT"]),
        env["CENTRAL_FORM"],
        env["CENTRAL_EMAIL"],
        env["CENTRAL_PASSWORD"],
        user_env="CENTRAL_EMAIL",
        password_env="CENTRAL_PASSWORD",
        page_size=2,
    )
    try:
        first = client.page(None, None)
        print(f"OData: {first.count} submissions, first page {len(first.rows)} rows")
        if first.next_link:
            second = client.page(first.next_link, None)
            print(f"nextLink followed: {len(second.rows)} rows on page 2")
        client.id_page_size = 1000
        ids = [r.get("__id") for page in client.pages(None, None, ids_only=True) for r in page.rows]
        print(f"light scan ($select=__id): {len(ids)} ids, {len(set(ids))} distinct")
        for row in first.rows:
            root = row.get("__id")
            where = f"{client.attachments_url}/{quote(str(root), safe='')}/attachments"
            listing = client.send("GET", where)
            names = [a.get("name") for a in listing if isinstance(a, dict) and a.get("exists")]
            if names:
                url = f"{where}/{quote(str(names[0]), safe='')}"
                got = client.fetch_all([url, url], len)
                print(
                    f"attachment {names[0]!r} of {root}: {got[0]} bytes, fetched twice in parallel"
                )
                break
        else:
            print("no file among the newest submissions: attachment download not checked")
        edited = [r for r in first.rows if (r.get("__system") or {}).get("edits")]
        if edited:
            root = str(edited[0]["__id"])
            versions = client.versions(root)
            xml = client.version_xml(root, versions[0]) if versions else None
            linked = xml is not None and b"deprecatedID" in xml
            print(
                f"versions of {root}: {len(versions)}; newest version's XML "
                f"{'names the version it replaced' if linked else 'has no deprecatedID'}"
            )
        else:
            print("no edited submission on the first page: the versions API not checked")
    except PcmdError as exc:
        print(f"Lỗi (error): {exc.message}")
        return 1
    finally:
        client.close()
    print(f"requests made: {client.requests_made}, retried: {client.retried}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
