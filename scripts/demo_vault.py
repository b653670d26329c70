"""The demo's Vault: an OpenBao on this machine's loopback (dev mode, state in .demo/openbao) that
holds the demo's generated secrets, which inventories/demo reads with community.hashi_vault's
vault_kv2_get lookup, logged in with an AppRole allowed to read them and nothing else.

    python scripts/demo_vault.py start   start it (or keep the running one), store the secrets
                                         that are not there yet, print VAULT_ADDR=<url>
    python scripts/demo_vault.py stop    stop it by its PID file

The root token, the AppRole's role id and a secret id go to files in .demo/openbao (mode 0600),
never to the output."""

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


def _secret_file(name: str, value: str) -> None:
    f = STATE / "openbao" / name
    f.touch(mode=0o600)
    f.write_text(value + "\n")


def _bao() -> OpenBao:
    port = _saved("port")
    bao = OpenBao(STATE, mode="dev", port=int(port) if port else None)
    if bao.running() and _saved("root-token"):
        bao.root_token = _saved("root-token")
        return bao
    bao.stop()
    bao.start()
    _secret_file("root-token", bao.root_token)
    (STATE / "openbao" / "port").write_text(str(bao.port))
    # What Ansible logs in with: an AppRole whose policy reads the demo's secrets only.
    bao.add_policy("dwo-demo-read", {"secret/data/dwo-demo/*": ["read"]})
    role_id, secret_id = bao.add_approle("dwo-demo", ["dwo-demo-read"])
    _secret_file("role-id", role_id)
    _secret_file("secret-id", secret_id)
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
