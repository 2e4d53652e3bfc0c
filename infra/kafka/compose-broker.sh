#!/usr/bin/env bash
# Entry point of each Kafka broker of infra/compose.yaml (apache/kafka image): the security settings of
# infra/kafka/security.sh (the same as scripts/kafka's), SCRAM users created when the storage is first formatted.
# Environment: KAFKA_NODE_ID, CLUSTER_ID, KAFKA_CONTROLLER_QUORUM_VOTERS, KAFKA_ADVERTISED_LISTENERS
# (SASL_PLAINTEXT://host:9092), KAFKA_MIN_INSYNC_REPLICAS, KAFKA_DEFAULT_REPLICATION_FACTOR and the passwords of
# security.sh.
set -euo pipefail
# shellcheck source=security.sh
source /vru/kafka/security.sh
kafka_require_passwords
: "${KAFKA_NODE_ID:?}" "${CLUSTER_ID:?}" "${KAFKA_CONTROLLER_QUORUM_VOTERS:?}" "${KAFKA_ADVERTISED_LISTENERS:?}"
data=/var/lib/kafka/data
config=/tmp/vru-server.properties
umask 077 # the properties hold the admin's and the controller listener's passwords
cat >"$config" <<PROPERTIES
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_CONTROLLER_QUORUM_VOTERS
listeners=SASL_PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=$KAFKA_ADVERTISED_LISTENERS
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$data

$(kafka_security_properties SASL_PLAINTEXT)

auto.create.topics.enable=false
default.replication.factor=${KAFKA_DEFAULT_REPLICATION_FACTOR:-3}
min.insync.replicas=${KAFKA_MIN_INSYNC_REPLICAS:-2}
offsets.topic.replication.factor=${KAFKA_DEFAULT_REPLICATION_FACTOR:-3}
transaction.state.log.replication.factor=${KAFKA_DEFAULT_REPLICATION_FACTOR:-3}
transaction.state.log.min.isr=${KAFKA_MIN_INSYNC_REPLICAS:-2}
group.initial.rebalance.delay.ms=0
PROPERTIES
kafka_admin_client_properties >/tmp/vru-admin.properties # for the health check
if [[ ! -f $data/meta.properties ]]; then
  mapfile -t scram < <(kafka_scram_format_args)
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$config" "${scram[@]}" >/dev/null
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
