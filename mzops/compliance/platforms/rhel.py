from mzops.compliance.platforms import Platform, register

_RHEL_PACKAGES = {
    "telnet-server": ("telnet-server",),
    "rsh-server": ("rsh-server",),
    "ftp-server": ("vsftpd",),
    "tftp-server": ("tftp-server",),
    "nis-server": ("ypserv",),
    "auditd": ("audit",),
    "aide": ("aide",),
}
_RHEL_STACKS = dict(password_stacks=("system-auth", "password-auth"),
                    auth_stacks=("system-auth", "password-auth"))

RHEL = register(Platform(name="rhel", matches=("rhel", "centos", "rocky", "almalinux", "fedora", "ol"),
                         package_names=_RHEL_PACKAGES, **_RHEL_STACKS))
# openEuler and Kylin server descend from the Red Hat layout (authselect, system-auth).
OPENEULER = register(Platform(name="openeuler", matches=("openeuler",), aliases=("rhel",),
                              package_names=_RHEL_PACKAGES, **_RHEL_STACKS))
# Kylin shares ID=kylin between its server (Red Hat layout) and desktop (Debian layout)
# editions: list both; checks use the stacks the host really has.
KYLIN = register(Platform(name="kylin", matches=("kylin",), aliases=("rhel",),
                          package_names=_RHEL_PACKAGES,
                          password_stacks=("system-auth", "password-auth", "common-password"),
                          auth_stacks=("system-auth", "password-auth", "common-auth")))
