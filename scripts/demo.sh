#!/usr/bin/env bash
# make demo: on a fresh Debian 12 machine (root), installs what is needed, starts one fresh
# Debian 13 container (podman, systemd) named dwo-demo (DEMO_RELEASE=bookworm: Debian 12), deploys the whole stack to it with
# site.yml and the embedded default inventory (inventories/demo), then proves it works
# (playbooks/demo_verify.yml). The container stays up to explore; `make demo-clean` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
name=dwo-demo
bash scripts/bootstrap.sh
release="${DEMO_RELEASE:-trixie}"
image=$(bash scripts/build-image.sh "$release" | tail -n 1)
podman rm -f "$name" >/dev/null 2>&1 || true
# CAP_SYS_ADMIN as PID 1 has on a real host: Debian 13's systemd needs it to apply the
# server role's hardening drop-in (see docs/testing.md).
podman run -d --name "$name" --hostname "$name" --runtime runc --systemd=always --cap-add SYS_ADMIN \
  --ulimit nofile=20000:20000 --ulimit nproc=30000:30000 "$image" /sbin/init >/dev/null
for _ in $(seq 120); do
  state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 0.5
done
colls=$(mktemp -d)
trap 'rm -rf "$colls"' EXIT
mkdir -p "$colls/ansible_collections/dicomweb_oauth"
ln -s "$PWD" "$colls/ansible_collections/dicomweb_oauth/orthanc"
export ANSIBLE_COLLECTIONS_PATH="$colls" ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export PATH="$PWD/.venv/bin:$PATH"
# The demo's secrets come from Vault: an OpenBao on this machine's loopback holds them (generated
# on first use); the inventory reads them with community.hashi_vault's lookup, logged in with an
# AppRole (read from files, never on a command line).
vault=$(.venv/bin/python scripts/demo_vault.py start)
export "${vault?}"
ANSIBLE_HASHI_VAULT_ROLE_ID=$(cat .demo/openbao/role-id)
ANSIBLE_HASHI_VAULT_SECRET_ID=$(cat .demo/openbao/secret-id)
export ANSIBLE_HASHI_VAULT_AUTH_METHOD=approle ANSIBLE_HASHI_VAULT_ROLE_ID ANSIBLE_HASHI_VAULT_SECRET_ID
start=$(date +%s)
ansible-playbook -i inventories/demo site.yml
echo "demo: site.yml converged on $release in $(( $(date +%s) - start )) s"
ansible-playbook -i inventories/demo playbooks/demo_verify.yml
cat <<MSG

demo: the stack runs in the podman container '$name':
  Orthanc with the plugin  http://127.0.0.1:8042   (user admin; loopback only)
  Orthanc's TLS front      https://127.0.0.1:443    (nginx, self-signed certificate
                                                    /etc/nginx/tls/orthanc-front.crt)
  demo OpenID provider     http://127.0.0.1:8180
  protected demo target    http://127.0.0.1:8043/dicom-web/
  Prometheus               http://127.0.0.1:9090
  (all on the container's loopback: podman exec -it $name bash)
  remove it with: make demo-clean

Where the secrets came from: OpenBao (a Vault) at $VAULT_ADDR on this machine, KV v2 mount
"secret", read by lookup('community.hashi_vault.vault_kv2_get', ...) in inventories/demo with
the AppRole dwo-demo (role and secret id in .demo/openbao/, mode 0600):
  Orthanc admin password   secret/dwo-demo/admin   key password
  OAuth client secret      secret/dwo-demo/client  key client_secret
  (the root token is in .demo/openbao/root-token, mode 0600; to read one:
   VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=\$(cat .demo/openbao/root-token) .venv/bin/bao kv get -field=password secret/dwo-demo/admin)
MSG
