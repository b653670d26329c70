"""The demo's Vault: an OpenBao on this machine's loopback (dev mode, state in .demo/openbao) that
holds the demo's generated secrets, which inventories/demo reads with the vault_kv lookup.

    python scripts/demo_vault.py start   start it (or keep the running one), store the secrets
                                         that are not there yet, print VAULT_ADDR=<url>
    python scripts/demo_vault.py stop    stop it by its PID file

The root token is written to .demo/openbao/root-token (mode 0600), never printed."""

from __future__ import annotations

import secrets
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testenv.openbao import OpenBao  # noqa: E402

STATE = ROOT / ".demo"
# path under the KV v2 mount "secret", key, length
SECRETS = [("dwo-demo/admin", "password", 24), ("dwo-demo/client", "client_secret", 32)]


def _saved(name: str) -> str:
    f = STATE / "openbao" / name
    return f.read_text().strip() if f.exists() else ""


def _bao() -> OpenBao:
    port = _saved("port")
    bao = OpenBao(STATE, mode="dev", port=int(port) if port else None)
    if bao.running() and _saved("root-token"):
        bao.root_token = _saved("root-token")
        return bao
    bao.stop()
    bao.start()
    token = STATE / "openbao" / "root-token"
    token.touch(mode=0o600)
    token.write_text(bao.root_token + "\n")
    (STATE / "openbao" / "port").write_text(str(bao.port))
    return bao


def _store_missing(bao: OpenBao) -> None:
    alphabet = string.ascii_letters + string.digits
    for path, key, length in SECRETS:
        try:
            bao.api("GET", f"secret/data/{path}")
        except RuntimeError:  # not there yet (404)
            value = "".join(secrets.choice(alphabet) for _ in range(length))
            bao.put_kv2("secret", path, {key: value})


def main(action: str) -> int:
    STATE.mkdir(mode=0o700, exist_ok=True)
    if action == "stop":
        OpenBao(STATE, mode="dev").stop()
        return 0
    bao = _bao()
    _store_missing(bao)
    print(f"VAULT_ADDR={bao.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "start"))
