"""A throwaway real slapd, configured like a Debian 12 site that loaded ``ldif/``.

The base configuration mirrors Debian's ``/usr/share/slapd/slapd.init.ldif``
(same database numbering, default indexes and peercred-only ``cn=config``
access), then every file of ``ldif/`` is loaded over ldapi with SASL EXTERNAL,
exactly as the comments in those files tell an administrator to do. So the
tests and the demo exercise the shipped LDIF files, not a private copy.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import ldap3
from slapdtest import SlapdObject

# Where the files live in a source checkout (the package sits next to ldif/).
DEFAULT_LDIF_DIR = Path(__file__).parents[2] / "ldif"
# The example names used in ldif/, substituted like an admin would with sed.
EXAMPLE_SUFFIX = "dc=example,dc=org"
ROOT_PEERCRED = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"

# Mirrors Debian's slapd.init.ldif; schema is included here (not loaded
# afterwards by slapdtest) because the default indexes need cn/uid/uidNumber.
CONFIG_TEMPLATE = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcLogLevel: %(loglevel)s

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to * by dn.exact=%(peercred)s manage by * break
olcAccess: {1}to dn.exact="" by * read
olcAccess: {2}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=%(peercred)s manage by * break

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://%(schemadir)s/core.ldif
include: file://%(schemadir)s/cosine.ldif
include: file://%(schemadir)s/nis.ldif
include: file://%(schemadir)s/inetorgperson.ldif

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModuleLoad: back_mdb

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbMaxSize: %(db_max_size)d
olcDbNoSync: %(db_nosync)s
olcLastMod: TRUE
olcSuffix: %(suffix)s
olcDbDirectory: %(directory)s
olcRootDN: %(rootdn)s
olcRootPW: %(rootpw)s
olcDbIndex: objectClass eq
olcDbIndex: cn,uid eq
olcDbIndex: uidNumber,gidNumber eq
olcDbIndex: member,memberUid eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
"""


def _ssha(password: str) -> str:
    """Hash like slapd's default {SSHA}, so dump() never shows a cleartext password."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


class ProvisionerSlapd(SlapdObject):
    """A private slapd on 127.0.0.1 with the provisioner's schema, overlays and ACLs."""

    suffix = EXAMPLE_SUFFIX
    root_cn = "admin"
    # slapdtest's default map size (10 MB) is too small for demo-sized schools.
    db_max_size = 4 * 1024**3
    # FALSE: every write is flushed to disk, as in production. The benchmark sets TRUE on
    # both its servers so it measures the software, not the VM's fsync latency.
    db_nosync = False
    slapd_conf_template = CONFIG_TEMPLATE
    slapd_loglevel = "none"
    openldap_schema_files = ()  # included by CONFIG_TEMPLATE instead
    # slapdtest defaults to the cwd; keep the run directory (and socket) in /tmp.
    TMPDIR = tempfile.gettempdir()
    stop_timeout = 10.0

    def __init__(self, ldif_dir: Path | str | None = None) -> None:
        super().__init__()
        if not self.ldapi_uri:
            raise RuntimeError("ldapi (AF_UNIX) is needed to load ldif/ with SASL EXTERNAL")
        # The ldap* CLI tools do EXTERNAL themselves, whatever python-ldap was built with.
        self.cli_sasl_external = True
        self.ldif_dir = Path(ldif_dir) if ldif_dir is not None else DEFAULT_LDIF_DIR
        self.root_pw = secrets.token_urlsafe(16)
        self.service_password = secrets.token_urlsafe(16)
        self._log_path = Path(self.testrundir) / "slapd.log"
        self._keep: set[str] = set()

    @property
    def host(self) -> str:
        return self.local_host

    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def service_dn(self) -> str:
        return f"cn=provisioner,{self.suffix}"

    @property
    def peercred_dn(self) -> str:
        """Our SASL EXTERNAL identity over ldapi; stands in for Debian's root."""
        return f"gidNumber={os.getgid()}+uidNumber={os.getuid()},cn=peercred,cn=external,cn=auth"

    def gen_config(self) -> str:
        return self.slapd_conf_template % {
            "loglevel": self.slapd_loglevel,
            "peercred": self.peercred_dn,
            "schemadir": self.SCHEMADIR,
            "db_max_size": self.db_max_size,
            "db_nosync": "TRUE" if self.db_nosync else "FALSE",
            "suffix": self.suffix,
            "directory": self._db_directory,
            "rootdn": self.root_dn,
            "rootpw": self.root_pw,
        }

    def _start_slapd(self) -> None:
        # Own version: slapd's stderr goes to a log file, not the test output.
        urls = f"{self.ldap_uri} {self.ldapi_uri}"
        with open(self._log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [self.PATH_SLAPD, "-F", self._slapd_conf, "-h", urls, "-d", "0"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        for _ in range(100):
            if self._proc.poll() is not None:
                self._stopped()
                raise RuntimeError(f"slapd exited at start, see {self._log_path}")
            try:
                self.ldapwhoami()
                return
            except RuntimeError:
                time.sleep(0.1)
        raise RuntimeError("slapd did not start within 10 s")

    def start(self) -> None:
        if self._proc is not None:
            return
        super().start()
        try:
            # Debian's installer creates the base entry; 60-*.ldif needs it.
            self._add_base_entries()
            self._load_ldif_dir()
            self._keep = self._all_dns()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        # slapdtest waits forever; slapd can stall on open connections.
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._stopped()
        super().stop()

    def _load_ldif_dir(self) -> None:
        files = sorted(self.ldif_dir.glob("*.ldif"))
        if not files:
            raise FileNotFoundError(f"no *.ldif files in {self.ldif_dir}")
        for path in files:
            text = path.read_text().replace(EXAMPLE_SUFFIX, self.suffix)
            text = text.replace(ROOT_PEERCRED, self.peercred_dn)
            load = self.ldapmodify if "changetype: modify" in text else self.ldapadd
            try:
                load(text)
            except RuntimeError as exc:
                raise RuntimeError(f"loading {path.name} failed: {exc}") from exc

    def _connect(self) -> ldap3.Connection:
        return ldap3.Connection(
            ldap3.Server(self.url, get_info=ldap3.NONE),
            self.root_dn, self.root_pw, auto_bind=True, raise_exceptions=True,
        )

    def _add_base_entries(self) -> None:
        top = self.suffix.split(",")[0].split("=", 1)[1]
        with self._connect() as conn:
            conn.add(self.suffix, ["dcObject", "organization"], {"dc": top, "o": top})
            conn.add(
                self.service_dn,
                ["applicationProcess", "simpleSecurityObject"],
                {"cn": "provisioner", "userPassword": _ssha(self.service_password)},
            )

    def _all_dns(self) -> set[str]:
        with self._connect() as conn:
            conn.search(self.suffix, "(objectClass=*)", attributes=["1.1"])
            return {entry.entry_dn.lower() for entry in conn.entries}

    def reset(self) -> None:
        """Delete every entry added since start: all but the base, the service
        account and the default password policy from ldif/."""
        doomed = self._all_dns() - self._keep
        with self._connect() as conn:
            # Children before parents.
            for dn in sorted(doomed, key=lambda d: d.count(","), reverse=True):
                conn.delete(dn)

    def dump(self) -> str:
        """Return the whole directory as LDIF, operational attributes included."""
        args = [
            self._find_command("ldapsearch"), "-x", "-LLL", "-o", "ldif-wrap=no",
            "-H", self.url, "-D", self.root_dn, "-w", self.root_pw,
            "-b", self.suffix, "(objectClass=*)", "*", "+",
        ]
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout

    def __enter__(self) -> ProvisionerSlapd:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
