{{/* Names, labels and the server config, shared by every template. */}}

{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tollgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tollgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tollgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tollgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Where the bundle comes from: "files" (a ConfigMap this chart builds),
"existing" (a ConfigMap the user manages), "url" (a remote source) or
"embedded" (the image's demo bundle). More than one is a mistake.
*/}}
{{- define "tollgate.bundleMode" -}}
{{- $b := .Values.bundle }}
{{- $modes := list }}
{{- if $b.files }}{{ $modes = append $modes "files" }}{{ end }}
{{- if $b.existingConfigMap }}{{ $modes = append $modes "existing" }}{{ end }}
{{- if $b.url }}{{ $modes = append $modes "url" }}{{ end }}
{{- if gt (len $modes) 1 }}
{{- fail (printf "bundle: set only one of bundle.files, bundle.existingConfigMap and bundle.url (got %s)" (join ", " $modes)) }}
{{- end }}
{{- if and $b.files (not (hasKey $b.files "bundle.yaml")) }}
{{- fail "bundle.files: a bundle needs a `bundle.yaml` (name and revision)" }}
{{- end }}
{{- default "embedded" (first $modes) }}
{{- end }}

{{- define "tollgate.bundleConfigMapName" -}}
{{- if .Values.bundle.existingConfigMap }}
{{- .Values.bundle.existingConfigMap }}
{{- else }}
{{- printf "%s-bundle" (include "tollgate.fullname" .) }}
{{- end }}
{{- end }}

{{/* A server duration (`500ms`, `10s`, `1m`) in whole seconds, rounded up. */}}
{{- define "tollgate.durationSeconds" -}}
{{- $n := regexFind "^[0-9]+" . | atoi }}
{{- if hasSuffix "ms" . }}{{ div (add $n 999) 1000 }}
{{- else if hasSuffix "m" . }}{{ mul $n 60 }}
{{- else }}{{ $n }}
{{- end }}
{{- end }}

{{- define "tollgate.tokenDir" -}}/etc/tollgate/secrets/bundle-token{{- end }}
{{- define "tollgate.verificationDir" -}}/etc/tollgate/secrets/bundle-verification{{- end }}
{{- define "tollgate.hashKeyDir" -}}/etc/tollgate/secrets/decision-log{{- end }}
{{- define "tollgate.configDir" -}}/etc/tollgate/config{{- end }}

{{/*
The server's config file, keyed by long flag names. The checksum/config
annotation hashes exactly this text, so pods roll when it changes and not
when the bundle does (a bundle hot-reloads).
*/}}
{{- define "tollgate.serverConfig" -}}
{{- $s := .Values.server }}
{{- $b := .Values.bundle }}
{{- $mode := include "tollgate.bundleMode" . }}
{{- $cfg := dict
  "listen" (printf "0.0.0.0:%d" (int $s.grpcPort))
  "admin-listen" (printf "0.0.0.0:%d" (int $s.adminPort))
  "request-timeout" $s.requestTimeout
  "max-concurrent-requests" (int $s.maxConcurrentRequests)
  "max-message-bytes" (int $s.maxMessageBytes)
  "shutdown-grace" $s.shutdownGrace
  "playground" (ternary "on" "off" (eq $s.playground true)) }}
{{- with $s.maxBundleAge }}{{ $_ := set $cfg "max-bundle-age" . }}{{ end }}
{{- if or (eq $mode "files") (eq $mode "existing") }}
{{- $_ := set $cfg "bundle" $b.mountPath }}
{{- if not (kindIs "invalid" $b.pollInterval) }}{{ $_ := set $cfg "poll-interval" (int $b.pollInterval) }}{{ end }}
{{- else if eq $mode "url" }}
{{- $r := $b.remote }}
{{- $_ := set $cfg "bundle" $b.url }}
{{- $_ := set $cfg "bundle-cache" $r.cachePath }}
{{- with $r.pollMin }}{{ $_ := set $cfg "bundle-poll-min" . }}{{ end }}
{{- with $r.pollMax }}{{ $_ := set $cfg "bundle-poll-max" . }}{{ end }}
{{- if not (kindIs "invalid" $r.maxBytes) }}{{ $_ := set $cfg "bundle-max-bytes" (int64 $r.maxBytes) }}{{ end }}
{{- with $r.tokenSecret.name }}
{{- $_ := set $cfg "bundle-token-file" (printf "%s/%s" (include "tollgate.tokenDir" $) $r.tokenSecret.key) }}
{{- end }}
{{- end }}
{{- if $b.verification.secretName }}
{{- $keys := list }}
{{- range $b.verification.keys }}{{ $keys = append $keys (printf "%s/%s" (include "tollgate.verificationDir" $) .) }}{{ end }}
{{- $_ := set $cfg "verification-key" $keys }}
{{- end }}
{{- if .Values.tls.enabled }}
{{- $_ := set $cfg "tls-cert" (printf "%s/tls.crt" .Values.tls.mountPath) }}
{{- $_ := set $cfg "tls-key" (printf "%s/tls.key" .Values.tls.mountPath) }}
{{- if .Values.tls.mtls }}{{ $_ := set $cfg "client-ca" (printf "%s/ca.crt" .Values.tls.mountPath) }}{{ end }}
{{- end }}
{{- with .Values.callers }}{{ $_ := set $cfg "callers" . }}{{ end }}
{{- with .Values.tracing.otlpEndpoint }}{{ $_ := set $cfg "otlp-endpoint" . }}{{ end }}
{{- $d := .Values.decisionLog }}
{{- if $d.enabled }}
{{- $_ := set $cfg "decision-log" "stdout" }}
{{- $_ := set $cfg "decision-log-sample" $d.sample }}
{{- $_ := set $cfg "decision-log-overflow" $d.overflow }}
{{- $_ := set $cfg "decision-log-queue" (int $d.queue) }}
{{- with $d.erase }}{{ $_ := set $cfg "decision-log-erase" . }}{{ end }}
{{- with $d.hashKeySecret.name }}
{{- $_ := set $cfg "decision-log-hash-key-file" (printf "%s/%s" (include "tollgate.hashKeyDir" $) $d.hashKeySecret.key) }}
{{- end }}
{{- end }}
{{- range $key, $value := $s.extraConfig }}
{{- if hasKey $cfg $key }}
{{- fail (printf "server.extraConfig: `%s` is set by the chart from its own values" $key) }}
{{- end }}
{{- $_ := set $cfg $key $value }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Checks that need more than one value; the schema checks the rest. */}}
{{- define "tollgate.validate" -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName (a Secret with tls.crt, tls.key and ca.crt)" }}
{{- end }}
{{- if and .Values.tls.mtls (not .Values.tls.enabled) }}
{{- fail "tls.mtls needs tls.enabled" }}
{{- end }}
{{- if and .Values.callers (not .Values.tls.mtls) }}
{{- fail "callers: the caller policy matches client certificates, so it needs tls.mtls" }}
{{- end }}
{{- $grace := include "tollgate.durationSeconds" .Values.server.shutdownGrace | int }}
{{- if le (int .Values.terminationGracePeriodSeconds) $grace }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than server.shutdownGrace (%s), or the kubelet kills calls the server is still finishing" (int .Values.terminationGracePeriodSeconds) .Values.server.shutdownGrace) }}
{{- end }}
{{- $v := .Values.bundle.verification }}
{{- if and $v.secretName (eq (include "tollgate.bundleMode" .) "embedded") }}
{{- fail "bundle.verification needs a signed bundle (bundle.files, bundle.existingConfigMap or bundle.url): the image's embedded demo bundle is not signed" }}
{{- end }}
{{- if and $v.secretName (not $v.keys) }}
{{- fail "bundle.verification.secretName needs bundle.verification.keys: the Secret's keys to trust" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.clients) }}
{{- fail "networkPolicy.enabled needs at least one networkPolicy.clients entry, or no caller could reach the gRPC port" }}
{{- end }}
{{- end }}

{{/*
Probes. Native gRPC probes ask grpc.health.v1, which is NOT_SERVING until a
bundle is active, when the bundle is older than --max-bundle-age, and while
draining. The kubelet's gRPC probe cannot speak TLS, so with TLS on every
probe uses the admin port's /readyz and /healthz (same readiness) instead.
Liveness uses gRPC health only when NOT_SERVING cannot mean "stale bundle":
with maxBundleAge set it is /healthz, or every replica would be restarted
when the bundle source is down, turning a stale bundle into an outage.
*/}}
{{- define "tollgate.probe" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $timing := index $root.Values.probes $kind }}
{{- $grpc := not $root.Values.tls.enabled }}
{{- /* Liveness is the process, never the bundle: always /healthz. */}}
{{- if eq $kind "liveness" }}{{ $grpc = false }}{{ end }}
{{- if $grpc }}
grpc:
  port: {{ $root.Values.server.grpcPort }}
{{- else }}
httpGet:
  path: {{ ternary "/healthz" "/readyz" (eq $kind "liveness") }}
  port: metrics
{{- end }}
periodSeconds: {{ $timing.periodSeconds }}
failureThreshold: {{ $timing.failureThreshold }}
timeoutSeconds: {{ $timing.timeoutSeconds }}
{{- end }}

{{/* A NetworkPolicy peer: pods with podLabels, in namespaces with namespaceLabels (none: this namespace). */}}
{{- define "tollgate.peer" }}
- podSelector:
    matchLabels:
      {{- toYaml (default (dict) .podLabels) | nindent 6 }}
  {{- with .namespaceLabels }}
  namespaceSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end }}
