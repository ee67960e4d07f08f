#!/usr/bin/env bash
# Starts a private OpenLDAP server (Debian's slapd) on free loopback ports for the tests
# (source this file): a directory under dc=berth,dc=test with a read-only search account,
# a few people and groupOfNames groups whose membership the memberof overlay mirrors into
# each person's memberOf, plain LDAP (StartTLS offered) and LDAPS with a certificate from a
# CA made here. Exports BERTH_TEST_LDAP (ldap://127.0.0.1:PORT), BERTH_TEST_LDAPS
# (ldaps://127.0.0.1:PORT), BERTH_TEST_LDAP_CA (the CA's PEM file) and
# BERTH_TEST_LDAP_BIND_PASSWORD_FILE; stop_test_slapd stops the server and removes it all.
#
# People (uid, password, groups):
#   alice  alice-password  developers, admins
#   bob    bob-password    developers
#   carol  carol-password  (none)
#   twin   twin-password   (two entries with this uid: a lookup must refuse to choose)
#   ci     ci-password     (departmentNumber: build; the shared identity-backend suite's account)

slapd_bin() {
    for candidate in slapd /usr/sbin/slapd; do command -v "$candidate" >/dev/null 2>&1 && { command -v "$candidate"; return; }; done
    return 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_test_slapd() {
    local bin dir port tlsport base="dc=berth,dc=test"
    bin=$(slapd_bin) || { echo "slapd not found (apt-get install slapd ldap-utils)" >&2; return 1; }
    command -v ldapadd >/dev/null || { echo "ldapadd not found (apt-get install ldap-utils)" >&2; return 1; }
    dir=$(mktemp -d /tmp/berth-ldap.XXXXXX)
    mkdir -p "$dir/db"
    port=$(free_port); tlsport=$(free_port)

    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Berth test LDAP CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/san.ext" -out "$dir/server.pem" >/dev/null 2>&1
    chmod 0644 "$dir/server.key"

    cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $dir/slapd.pid
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server.key
database mdb
maxsize 16777216
suffix "$base"
rootdn "cn=admin,$base"
rootpw admin-secret
directory $dir/db
overlay memberof
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
CONF

    cat >"$dir/people.ldif" <<LDIF
dn: $base
objectClass: dcObject
objectClass: organization
o: Berth tests
dc: berth

dn: ou=people,$base
objectClass: organizationalUnit
ou: people

dn: ou=contractors,$base
objectClass: organizationalUnit
ou: contractors

dn: ou=groups,$base
objectClass: organizationalUnit
ou: groups

dn: cn=reader,$base
objectClass: person
objectClass: simpleSecurityObject
cn: reader
sn: reader
userPassword: reader-secret

LDIF
    local person
    for person in alice bob carol twin; do
        cat >>"$dir/people.ldif" <<LDIF
dn: uid=$person,ou=people,$base
objectClass: inetOrgPerson
uid: $person
cn: $person
sn: $person
mail: $person@berth.test
userPassword: $person-password

LDIF
    done
    cat >>"$dir/people.ldif" <<LDIF
dn: uid=ci,ou=people,$base
objectClass: inetOrgPerson
uid: ci
cn: ci
sn: ci
departmentNumber: build
userPassword: ci-password

dn: uid=twin,ou=contractors,$base
objectClass: inetOrgPerson
uid: twin
cn: twin
sn: twin
userPassword: twin-password

dn: cn=developers,ou=groups,$base
objectClass: groupOfNames
cn: developers
member: uid=alice,ou=people,$base
member: uid=bob,ou=people,$base

dn: cn=admins,ou=groups,$base
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,$base
LDIF

    "$bin" -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tlsport/" >"$dir/slapd.log" 2>&1 \
        || { cat "$dir/slapd.log" >&2; return 1; }
    local tries=0
    until ldapsearch -x -H "ldap://127.0.0.1:$port" -b "" -s base >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -lt 100 ] || { echo "slapd did not start" >&2; cat "$dir/slapd.log" >&2; return 1; }
        sleep 0.1
    done
    ldapadd -x -H "ldap://127.0.0.1:$port" -D "cn=admin,$base" -w admin-secret -f "$dir/people.ldif" >"$dir/ldapadd.log" 2>&1 \
        || { cat "$dir/ldapadd.log" >&2; return 1; }
    printf 'reader-secret\n' >"$dir/bind-password"

    TEST_SLAPD_DIR=$dir
    export BERTH_TEST_LDAP="ldap://127.0.0.1:$port"
    export BERTH_TEST_LDAPS="ldaps://127.0.0.1:$tlsport"
    export BERTH_TEST_LDAP_CA="$dir/ca.pem"
    export BERTH_TEST_LDAP_BIND_PASSWORD_FILE="$dir/bind-password"
}

stop_test_slapd() {
    [ -n "${TEST_SLAPD_DIR:-}" ] || return 0
    if [ -f "$TEST_SLAPD_DIR/slapd.pid" ]; then
        local pid
        pid=$(cat "$TEST_SLAPD_DIR/slapd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$TEST_SLAPD_DIR"
    TEST_SLAPD_DIR=
    unset BERTH_TEST_LDAP BERTH_TEST_LDAPS BERTH_TEST_LDAP_CA BERTH_TEST_LDAP_BIND_PASSWORD_FILE
}
