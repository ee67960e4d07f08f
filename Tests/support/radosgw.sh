#!/usr/bin/env bash
# Starts Ceph's RADOS Gateway (Debian's radosgw, a real S3 implementation that verifies
# every SigV4 signature, presigned URLs included) on a private one-node Ceph cluster: a
# monitor and one in-memory OSD on free loopback ports, nothing kept on disk after
# stop_test_radosgw (source this file). Exports BERTH_TEST_S3=http://127.0.0.1:PORT, the
# key pair of a user created for the tests in BERTH_TEST_S3_ACCESS_KEY/_SECRET_KEY,
# BERTH_TEST_S3_VERIFIES_SIGNATURES=1, and the id of an SSE-KMS key in BERTH_TEST_S3_KMS_KEY
# (radosgw 16 accepts SSE-S3's AES256 but does not encrypt with it; it does with KMS).

test_radosgw_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A second try on new ports and a new directory if the first cluster does not come up
# (once, an OSD was refused by the monitor it had just been created on).
start_test_radosgw() {
    local attempt
    for attempt in 1 2; do
        start_test_radosgw_cluster && return 0
        stop_test_radosgw
    done
    return 1
}

start_test_radosgw_cluster() {
    local dir mon_port rgw_port fsid kms_key osd_uuid osd_id i
    for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph; do
        command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install radosgw ceph-mon ceph-osd)" >&2; return 1; }
    done
    dir=$(mktemp -d /tmp/berth-radosgw.XXXXXX)
    TEST_RADOSGW_DIR=$dir
    mon_port=$(test_radosgw_port)
    rgw_port=$(test_radosgw_port)
    fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
    kms_key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
    mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd0" "$dir/rgw"
    # No cephx inside the private cluster (loopback only); S3 clients still sign every
    # request with the user's key, which the gateway verifies.
    cat > "$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$mon_port
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
osd_objectstore = memstore
memstore_device_bytes = 8589934592
mon_data_avail_warn = 1
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
pid_file = $dir/run/\$name.pid
keyring = $dir/keyring
[mon.a]
mon_data = $dir/mon
[osd.0]
osd_data = $dir/osd0
# The OSD is placed in the CRUSH map by the ceph CLI below, not by the OSD's own commands
# at start: on a loaded machine the monitor refused those ("wrong fsid") and the OSD quit.
osd_crush_update_on_start = false
osd_class_update_on_start = false
[client.rgw]
rgw_data = $dir/rgw
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
# SSE-KMS with the gateway's built-in key store, over plain HTTP on loopback.
rgw_crypt_require_ssl = false
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = berth-test-key=$kms_key
# STS, for temporary credentials with a session token.
rgw_s3_auth_use_sts = true
rgw_sts_key = $(python3 -c 'import secrets; print(secrets.token_hex(8))')
# Deleted objects' data is freed within seconds, not after rgw's two-hour default: the OSD
# keeps it in memory, and benchmarks and tests that copy gigabytes would otherwise fill it.
rgw_gc_obj_min_wait = 5
rgw_gc_processor_period = 5
EOF
    TEST_RADOSGW_CONF=$dir/ceph.conf
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null &&
        monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null &&
        ceph-mon -c "$dir/ceph.conf" --mkfs -i a --monmap "$dir/monmap" &&
        ceph-mon -c "$dir/ceph.conf" -i a || { echo "ceph-mon did not start" >&2; tail -20 "$dir/log/mon.a.log" >&2; return 1; }
    osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
    osd_id=$(timeout 30 ceph -c "$dir/ceph.conf" osd new "$osd_uuid") &&
        timeout 30 ceph -c "$dir/ceph.conf" osd crush add "osd.$osd_id" 1 root=default >/dev/null 2>&1 &&
        ceph-osd -c "$dir/ceph.conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>/dev/null &&
        ceph-osd -c "$dir/ceph.conf" -i "$osd_id" 2>/dev/null || { echo "ceph-osd did not start" >&2; tail -20 "$dir/log/osd.0.log" >&2; return 1; }
    radosgw -c "$dir/ceph.conf" -n client.rgw || { echo "radosgw did not start" >&2; return 1; }
    wait_test_radosgw "$rgw_port" || return 1
    # A second storage class, as S3's REDUCED_REDUNDANCY, in the default placement of the
    # zone the gateway's first start made; the gateway reads it when started again.
    radosgw-admin -c "$dir/ceph.conf" zonegroup placement add --rgw-zonegroup default --placement-id default-placement \
        --storage-class REDUCED_REDUNDANCY >/dev/null &&
        radosgw-admin -c "$dir/ceph.conf" zone placement add --rgw-zone default --placement-id default-placement \
            --storage-class REDUCED_REDUNDANCY --data-pool default.rgw.buckets.data >/dev/null ||
        { echo "radosgw-admin could not add the storage class" >&2; return 1; }
    stop_test_radosgw_daemon client.rgw
    radosgw -c "$dir/ceph.conf" -n client.rgw || { echo "radosgw did not start again" >&2; return 1; }
    wait_test_radosgw "$rgw_port" || return 1
    export BERTH_TEST_S3_ACCESS_KEY=berth-test BERTH_TEST_S3_SECRET_KEY=berth-test-secret
    radosgw-admin -c "$dir/ceph.conf" user create --uid berth-test --display-name "Berth tests" \
        --access-key "$BERTH_TEST_S3_ACCESS_KEY" --secret "$BERTH_TEST_S3_SECRET_KEY" >/dev/null ||
        { echo "radosgw-admin could not create the test user" >&2; return 1; }
    # The user may ask STS for temporary credentials (GetSessionToken), as a role would get.
    radosgw-admin -c "$dir/ceph.conf" caps add --uid berth-test --caps "user-policy=*" >/dev/null &&
        python3 - "http://127.0.0.1:$rgw_port" <<'PY' || { echo "could not allow GetSessionToken" >&2; return 1; }
import json, sys, boto3
boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="berth-test",
             aws_secret_access_key="berth-test-secret").put_user_policy(
    UserName="berth-test", PolicyName="session-tokens",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}))
PY
    export BERTH_TEST_S3="http://127.0.0.1:$rgw_port" BERTH_TEST_S3_VERIFIES_SIGNATURES=1 BERTH_TEST_S3_KMS_KEY=berth-test-key
}

wait_test_radosgw() { # port
    local i
    for i in $(seq 1 240); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/")" = 200 ] && return 0
        sleep 0.5
    done
    echo "radosgw did not answer within 120 s" >&2
    tail -20 "$TEST_RADOSGW_DIR/log/client.rgw.log" >&2
    return 1
}

stop_test_radosgw_daemon() { # name (client.rgw, osd.0, mon.a)
    local pidfile="$TEST_RADOSGW_DIR/run/$1.pid" pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

stop_test_radosgw() {
    [ -n "${TEST_RADOSGW_DIR:-}" ] || return 0
    local name
    for name in client.rgw osd.0 mon.a; do stop_test_radosgw_daemon "$name"; done
    # A daemon that failed before writing its pid file still runs on this directory's config.
    pkill -9 -f "$TEST_RADOSGW_DIR/ceph.conf" 2>/dev/null || true
    rm -rf "$TEST_RADOSGW_DIR"
    TEST_RADOSGW_DIR=
    unset BERTH_TEST_S3 BERTH_TEST_S3_ACCESS_KEY BERTH_TEST_S3_SECRET_KEY BERTH_TEST_S3_VERIFIES_SIGNATURES BERTH_TEST_S3_KMS_KEY
}
