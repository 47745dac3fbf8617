"""Vendor modules: rendering matches the golden files (reviewed by hand against each
vendor's documented syntax), and parsing a rendering gives the model back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mzops.firewall import modelio, tree, vendors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "firewall"
VENDORS = sorted(vendors.vendors())


def model(vendor: str):
    cfg = modelio.from_data(yaml.safe_load((FIXTURES / "model.yml").read_text()), vendor)
    if vendor == "nftables":  # Linux interface names (at most 15 characters); no management plane
        cfg.ruleset.zones = {z: [f"eth{i + 1}"] for i, z in enumerate(cfg.ruleset.zones)}
        cfg.management = type(cfg.management)()
        cfg.hostname = ""
    return cfg


def golden(vendor: str) -> Path:
    return FIXTURES / "golden" / f"{vendor}.{'nft' if vendor == 'nftables' else 'cfg'}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_rendering_matches_the_golden_file(vendor):
    assert vendors.get(vendor).render(model(vendor)) == golden(vendor).read_text()


@pytest.mark.parametrize("vendor", VENDORS)
def test_parse_of_a_rendering_gives_the_model_back(vendor):
    v = vendors.get(vendor)
    cfg = model(vendor)
    back = v.parse(v.render(cfg))
    assert back == vendors.comparable(v, cfg)
    assert v.render(back) == v.render(vendors.comparable(v, cfg))


def test_every_vendor_says_how_to_talk_to_it():
    for v in vendors.vendors().values():
        assert v.device_type and v.negation and v.error_patterns, v.name
        assert v.render and v.parse


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("nft"), reason="needs root and nft")
def test_nftables_rendering_loads_into_the_real_nft_and_reads_back():
    """The kernel's own nftables (in a throwaway network namespace) accepts the
    rendering, and its `nft list ruleset` parses back to the model."""
    v = vendors.get("nftables")
    cfg = model("nftables")
    proc = subprocess.run(["unshare", "-n", "sh", "-c", "nft -f - && nft list ruleset"], input=v.render(cfg),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert v.parse(proc.stdout).ruleset == cfg.ruleset


def test_tree_by_indentation():
    root = tree.parse("#\n sysname a\n#\naaa\n manager-user x\n  level 15\n#\n info-center loghost 1.2.3.4\n")
    assert [c.text.strip() for c in root.children] == ["sysname a", "aaa", "info-center loghost 1.2.3.4"]
    assert root.children[1].children[0].children[0].words == ["level", "15"]
    assert tree.split('admin user "alice smith" role') == ["admin", "user", "alice smith", "role"]


def test_unknown_vendor_is_a_clear_error():
    from mzops.errors import InputError

    with pytest.raises(InputError, match="unsupported firewall vendor 'cisco_xyz'"):
        vendors.get("cisco_xyz")
