from mzops.compliance.platforms import Platform, register

DEBIAN = register(Platform(
    name="debian",
    matches=("debian", "ubuntu", "linuxmint", "raspbian"),
    password_stacks=("common-password",),
    auth_stacks=("common-auth",),
    package_names={
        "telnet-server": ("telnetd", "inetutils-telnetd", "telnetd-ssl"),
        "rsh-server": ("rsh-server", "rsh-redone-server"),
        "ftp-server": ("vsftpd", "proftpd-basic", "pure-ftpd", "ftpd", "inetutils-ftpd"),
        "tftp-server": ("tftpd", "tftpd-hpa", "atftpd"),
        "nis-server": ("nis",),
        "auditd": ("auditd",),
        "aide": ("aide",),
    },
))
