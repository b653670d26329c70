"""The monitoring role's rules and Prometheus configuration, rendered by Ansible from the role's
templates, checked by promtool, and unit-tested with `promtool test rules`
(tests/monitoring/promtool/alerts_test.yml): every alert fires in one case and stays quiet in
another."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.monitoring import render_monitoring

HERE = Path(__file__).resolve().parent
UNIT_TESTS = HERE / "promtool" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

pytestmark = pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool is not installed")

TARGETS = [
    {"name": "node-a", "url": "http://127.0.0.1:8042", "username": "admin", "password": "scrape-pw-a-1f9c"},
    {"name": "node-b", "url": "https://orthanc-b.example.org:8443/orthanc/", "username": "metrics",
     "password": "scrape-pw-b-77d2", "ca_file": "/etc/ssl/certs/ca-certificates.crt"},
]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def unit_test(config: Path) -> subprocess.CompletedProcess[str]:
    shutil.copy(UNIT_TESTS, config.parent / "rules.d" / UNIT_TESTS.name)
    return promtool("test", "rules", str(config.parent / "rules.d" / UNIT_TESTS.name))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render_monitoring(tmp_path_factory.mktemp("monitoring"), {"monitoring_orthanc_targets": TARGETS})


def test_promtool_checks_the_rendered_files(rendered):
    rules = rendered.parent / "rules.d" / "dicomweb-oauth.rules.yml"
    r = promtool("check", "rules", str(rules))
    assert r.returncode == 0 and "SUCCESS: 12 rules found" in r.stdout, r.stdout + r.stderr
    r = promtool("check", "config", str(rendered))
    assert r.returncode == 0, r.stdout + r.stderr


def test_one_scrape_job_per_node_with_password_files(rendered):
    config = yaml.safe_load(rendered.read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    a, b = jobs["dicomweb-oauth-node-a"], jobs["dicomweb-oauth-node-b"]
    assert a["scheme"] == "http" and a["metrics_path"] == "/dicomweb-oauth/metrics"
    assert a["static_configs"] == [{"targets": ["127.0.0.1:8042"],
                                    "labels": {"service": "dicomweb-oauth", "orthanc_node": "node-a"}}]
    assert b["scheme"] == "https" and b["metrics_path"] == "/orthanc/dicomweb-oauth/metrics"
    assert b["tls_config"] == {"ca_file": "/etc/ssl/certs/ca-certificates.crt", "insecure_skip_verify": False}
    for job, target in ((a, TARGETS[0]), (b, TARGETS[1])):
        pw_file = Path(job["basic_auth"]["password_file"])
        assert pw_file.read_text() == target["password"]
        assert job["basic_auth"]["username"] == target["username"]
    text = rendered.read_text()
    assert all(t["password"] not in text for t in TARGETS)


def test_promtool_unit_tests_pass(rendered):
    r = unit_test(rendered)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_every_alert_has_a_firing_and_a_quiet_case(rendered):
    rules = yaml.safe_load((rendered.parent / "rules.d" / "dicomweb-oauth.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert len(alerts) == 6
    cases = [c for t in yaml.safe_load(UNIT_TESTS.read_text())["tests"] for c in t.get("alert_rule_test", [])]
    firing = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert alerts <= firing, f"no firing case for {alerts - firing}"
    assert alerts <= quiet, f"no quiet case for {alerts - quiet}"


def test_thresholds_come_from_the_role_variables(tmp_path):
    # With a longer hold for the breaker alert, the unit test's 5 minutes no longer fire it.
    config = render_monitoring(tmp_path, {"monitoring_alert_breaker_open_for": "10m"})
    r = unit_test(config)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "alertname: DicomwebOAuthCircuitBreakerOpen" in out, out
    assert out.count("alertname:") == 1  # only the changed alert differs
