from mzops.compliance.platforms import Platform, register
from mzops.compliance.platforms.debian import DEBIAN

# UnionTech UOS server editions follow Debian's PAM layout (common-*).
UOS = register(Platform(name="uos", matches=("uos", "uniontech", "deepin"), aliases=("debian",),
                        password_stacks=DEBIAN.password_stacks, auth_stacks=DEBIAN.auth_stacks,
                        package_names=DEBIAN.package_names))
