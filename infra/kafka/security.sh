# shellcheck shell=bash
# How every Kafka broker of the project authenticates and authorises, in one place: sourced by scripts/kafka (the
# local brokers of scripts/up and scripts/test) and by infra/kafka/compose-broker.sh and compose-setup.sh (the
# brokers of infra/compose.yaml).
#
#   clients      SASL/SCRAM-SHA-512 on the client listener; the users are created when the storage is formatted
#   controllers  SASL/PLAIN on the controller listener (KRaft controllers cannot use SCRAM)
#   authoriser   StandardAuthorizer, nothing allowed that an ACL does not grant; admin and controller are super users
#   ACLs         relay: Write, Describe on the topics starting with the topic prefix
#                projector: Read, Describe on those topics and on the consumer groups starting with the group prefix
#
# Reads: KAFKA_ADMIN_USERNAME / KAFKA_RELAY_USERNAME / KAFKA_PROJECTOR_USERNAME (default admin, relay, projector),
# KAFKA_ADMIN_PASSWORD, KAFKA_RELAY_PASSWORD, KAFKA_PROJECTOR_PASSWORD, KAFKA_CONTROLLER_PASSWORD,
# KAFKA_TOPIC (the topic prefix, default participant-events), PROJECTOR_GROUP_PREFIX (default vru-projection).
# Nothing here prints a password except into the files and arguments that need it.

ADMIN_USER="${KAFKA_ADMIN_USERNAME:-admin}"
RELAY_USER="${KAFKA_RELAY_USERNAME:-relay}"
PROJECTOR_USER="${KAFKA_PROJECTOR_USERNAME:-projector}"
CONTROLLER_USER=controller
TOPIC_PREFIX="${KAFKA_TOPIC:-participant-events}"
GROUP_PREFIX="${PROJECTOR_GROUP_PREFIX:-vru-projection}"

kafka_require_passwords() {
  local name missing=()
  for name in KAFKA_ADMIN_PASSWORD KAFKA_RELAY_PASSWORD KAFKA_PROJECTOR_PASSWORD KAFKA_CONTROLLER_PASSWORD; do
    [[ -n ${!name:-} ]] || missing+=("$name")
  done
  ((${#missing[@]} == 0)) || { echo "kafka: set ${missing[*]}" >&2; return 1; }
}

# The security part of server.properties, for a broker whose client listener is named CLIENT_LISTENER and whose
# controller listener is named CONTROLLER.
kafka_security_properties() { # kafka_security_properties CLIENT_LISTENER
  local client=${1,,}
  cat <<EOF
# Clients (and the brokers among themselves) authenticate with SCRAM users created at format time; KRaft
# controllers cannot use SCRAM, so their listener uses PLAIN with its own password.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.$client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
  username="$ADMIN_USER" password="$KAFKA_ADMIN_PASSWORD";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\
  username="$CONTROLLER_USER" password="$KAFKA_CONTROLLER_PASSWORD" user_$CONTROLLER_USER="$KAFKA_CONTROLLER_PASSWORD";

# Nothing is allowed that an ACL does not grant; the admin and the controllers are super users.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$ADMIN_USER;User:$CONTROLLER_USER
EOF
}

# Arguments of `kafka-storage format` that create the SCRAM users (in the metadata every node bootstraps from).
kafka_scram_format_args() {
  printf '%s\n' \
    --add-scram "SCRAM-SHA-512=[name=$ADMIN_USER,password=$KAFKA_ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$RELAY_USER,password=$KAFKA_RELAY_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$PROJECTOR_USER,password=$KAFKA_PROJECTOR_PASSWORD]"
}

# Client settings of the admin user for the command-line tools (write it with umask 077: it holds the password).
kafka_admin_client_properties() {
  cat <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
  username="$ADMIN_USER" password="$KAFKA_ADMIN_PASSWORD";
EOF
}

# The two `kafka-acls --add` argument lists (after --bootstrap-server and --command-config), one per line, with
# an empty line between them. Prefixed patterns: the topics and groups tests and benchmarks create per run
# (participant-events-test-…, vru-projection-test-…) are covered too.
kafka_acl_args() {
  printf '%s\n' --add --allow-principal "User:$RELAY_USER" --operation Write --operation Describe \
    --topic "$TOPIC_PREFIX" --resource-pattern-type prefixed ''
  printf '%s\n' --add --allow-principal "User:$PROJECTOR_USER" --operation Read --operation Describe \
    --topic "$TOPIC_PREFIX" --group "$GROUP_PREFIX" --resource-pattern-type prefixed
}

# Runs `RUNNER... BOOTSTRAP_AND_CONFIG_ARGS... ACL_ARGS...` once per ACL set of kafka_acl_args.
kafka_apply_acls() { # kafka_apply_acls RUNNER... -- --bootstrap-server B --command-config F
  local runner=() common=() args=() line
  while (($#)) && [[ $1 != -- ]]; do runner+=("$1"); shift; done
  shift
  common=("$@")
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ -z $line ]]; then
      "${runner[@]}" "${common[@]}" "${args[@]}" >/dev/null || return 1
      args=()
    else
      args+=("$line")
    fi
  done < <(kafka_acl_args)
  ((${#args[@]} == 0)) || "${runner[@]}" "${common[@]}" "${args[@]}" >/dev/null
}

kafka_acl_summary() {
  echo "$RELAY_USER writes topics $TOPIC_PREFIX*, $PROJECTOR_USER reads them in groups $GROUP_PREFIX*, $ADMIN_USER is a super user"
}
