"""The lab mirror's reading of apt's simulation: which packages, which versions, and
whether Debian publishes each in its security archive (that decides the suite, and so
whether a lab host sees a pending security update)."""

from __future__ import annotations

from mzops.lab import mirror

# apt-get -s output on Debian 12 (apt-pkg/algorithms.cc, pkgSimulate::Describe)
SIMULATED = """NOTE: This is only a simulation!
Reading package lists...
Inst libauparse0 (1:3.0.9-1 Debian:12.15/oldstable [amd64])
Inst inetutils-telnetd (2:2.4-2+deb12u3 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Inst zstd [1.5.4+dfsg2-5] (1.5.4+dfsg2-5+deb12u1 Debian-Security:12/oldstable-security [amd64])
Conf zstd (1.5.4+dfsg2-5+deb12u1 Debian-Security:12/oldstable-security [amd64])
Remv telnet [0.17+2.4-2]
"""


def test_parse_simulation_names_versions_and_suites():
    packages = {p.name: p for p in mirror.parse_simulation(SIMULATED)}
    assert set(packages) == {"libauparse0", "inetutils-telnetd", "zstd"}
    assert packages["libauparse0"].version == "1:3.0.9-1" and packages["libauparse0"].suites == {"main"}
    assert packages["inetutils-telnetd"].suites == {"main", "security"}
    assert packages["zstd"].version == "1.5.4+dfsg2-5+deb12u1" and packages["zstd"].suites == {"security"}


def test_hosts_use_only_the_mirror_verified_by_its_key():
    text = mirror.sources_file()
    assert "URIs: http://10.77.250.1:80/debian\n" in text
    assert "Suites: bookworm bookworm-security\n" in text
    assert f"Signed-By: /{mirror.KEYRING}\n" in text and "trusted" not in text
