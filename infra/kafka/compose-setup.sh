#!/usr/bin/env bash
# One-shot job of infra/compose.yaml, run once the brokers are healthy: the ACLs of infra/kafka/security.sh
# (what scripts/kafka applies to the local brokers). Idempotent: adding an ACL that exists changes nothing.
set -euo pipefail
# shellcheck source=security.sh
source /vru/kafka/security.sh
: "${KAFKA_BROKERS:?}" "${KAFKA_ADMIN_PASSWORD:?}"
umask 077
kafka_admin_client_properties >/tmp/vru-admin.properties
kafka_apply_acls /opt/kafka/bin/kafka-acls.sh -- --bootstrap-server "$KAFKA_BROKERS" --command-config /tmp/vru-admin.properties
echo "ACLs: $(kafka_acl_summary)"
