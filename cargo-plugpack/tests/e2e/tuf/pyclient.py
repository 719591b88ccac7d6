"""python-tuf's ngclient against a plugpack TUF repository (interop tests).

usage: pyclient.py REPO_URL_OR_DIR ROOT_JSON STATE_DIR OUT_DIR TARGET_PATH
Prints `ok <length> <custom plugpack name>` or `rejected <ExceptionClass>: message`.
A directory is read through a small fetcher (python-tuf 7 has no file:// fetcher).
"""

import os
import sys

from tuf.api import exceptions
from tuf.ngclient import FetcherInterface, Updater


class DirFetcher(FetcherInterface):
    def _fetch(self, url):
        path = url[len("file://"):]
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise exceptions.DownloadHTTPError(f"{path} not found", 404)

        def chunks():
            with f:
                while True:
                    b = f.read(65536)
                    if not b:
                        return
                    yield b

        return chunks()


def main():
    repo, root, state, out, target = sys.argv[1:6]
    os.makedirs(state, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    if repo.startswith("http://") or repo.startswith("https://"):
        base, fetcher = repo.rstrip("/"), None
    else:
        base, fetcher = "file://" + os.path.abspath(repo), DirFetcher()
    try:
        updater = Updater(
            metadata_dir=state,
            metadata_base_url=base + "/",
            target_base_url=base + "/targets/",
            target_dir=out,
            fetcher=fetcher,
            bootstrap=open(root, "rb").read(),
        )
        updater.refresh()
        info = updater.get_targetinfo(target)
        if info is None:
            print("rejected TargetNotFound: " + target)
            return
        path = updater.download_target(info)
        custom = info.custom.get("plugpack", {})
        print(f"ok {info.length} {custom.get('name')} {path}")
    except Exception as e:  # the test asserts on the class name
        print(f"rejected {type(e).__name__}: {e}")


main()
