{{/* Names, labels and the pieces every workload shares. */}}

{{- define "tokenhub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; also the gateway Service's name, so `helm install tokenhub` serves
     http://tokenhub.<namespace>.svc/v1. */}}
{{- define "tokenhub.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "tokenhub.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "tokenhub.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tokenhub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "tokenhub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokenhub
{{- end }}

{{/* Selector labels of one component: gateway, operator, migrate, postgres. Call with (list . "gateway"). */}}
{{- define "tokenhub.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "tokenhub.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "tokenhub.image" -}}
{{- $image := index . 0 -}}{{- $root := index . 1 -}}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "tokenhub.gatewayServiceAccount" -}}
{{- printf "%s-gateway" (include "tokenhub.fullname" .) }}
{{- end }}

{{- define "tokenhub.operatorServiceAccount" -}}
{{- printf "%s-operator" (include "tokenhub.fullname" .) }}
{{- end }}

{{/* The ConfigMap holding the non-secret settings; its checksum rolls the Deployments when it changes. */}}
{{- define "tokenhub.settingsName" -}}
{{- printf "%s-settings" (include "tokenhub.fullname" .) }}
{{- end }}

{{/* Where the database URL lives: the dev Postgres's generated Secret, or the one the installer made. */}}
{{- define "tokenhub.databaseSecret" -}}
{{- if .Values.database.embedded -}}
name: {{ include "tokenhub.fullname" . }}-postgres
key: url
{{- else -}}
{{- if not .Values.database.existingSecret.name }}
{{- fail "database.existingSecret.name is required: create a Secret with the Postgres URL (or set database.embedded=true for a throwaway dev database)" }}
{{- end -}}
name: {{ .Values.database.existingSecret.name }}
key: {{ .Values.database.existingSecret.key }}
{{- end }}
{{- end }}

{{- define "tokenhub.vaultSecret" -}}
{{- if not .Values.vault.existingSecret.name }}
{{- fail "vault.existingSecret.name is required: create a Secret holding the vault password (at least 12 characters)" }}
{{- end -}}
name: {{ .Values.vault.existingSecret.name }}
key: {{ .Values.vault.existingSecret.key }}
{{- end }}

{{/* The migration policy the long-running processes start with: the hook Job migrates, they only check. */}}
{{- define "tokenhub.migrateMode" -}}
{{- if .Values.database.embedded }}auto{{ else }}check{{ end }}
{{- end }}

{{/* The environment shared by the gateway, the operator and the migration Job. */}}
{{- define "tokenhub.commonEnv" -}}
- name: TOKENHUB_DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "tokenhub.databaseSecret" . | nindent 6 }}
- name: TOKENHUB_LOG_LEVEL
  valueFrom:
    configMapKeyRef:
      name: {{ include "tokenhub.settingsName" . }}
      key: TOKENHUB_LOG_LEVEL
- name: TOKENHUB_MIGRATE
  valueFrom:
    configMapKeyRef:
      name: {{ include "tokenhub.settingsName" . }}
      key: TOKENHUB_MIGRATE
{{- end }}

{{- /* The egress settings by variable name (empty ones are left out of the ConfigMap and of the env). */ -}}
{{- define "tokenhub.egressSettings" -}}
TOKENHUB_PROVIDER_ALLOW: {{ .Values.egress.providerAllow | quote }}
TOKENHUB_PROVIDER_DENY: {{ .Values.egress.providerDeny | quote }}
HTTPS_PROXY: {{ .Values.egress.httpsProxy | quote }}
HTTP_PROXY: {{ .Values.egress.httpProxy | quote }}
NO_PROXY: {{ .Values.egress.noProxy | quote }}
{{- end }}

{{- /* The egress variables a process reads from the ConfigMap: (dict "root" . "keys" (list ...)). */ -}}
{{- define "tokenhub.egressEnv" -}}
{{- $settings := include "tokenhub.egressSettings" .root | fromYaml }}
{{- range $key := .keys }}
{{- if get $settings $key }}
- name: {{ $key }}
  valueFrom:
    configMapKeyRef:
      name: {{ include "tokenhub.settingsName" $.root }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokenhub.vaultEnv" -}}
- name: TOKENHUB_VAULT_PASSWORD
  valueFrom:
    secretKeyRef:
      {{- include "tokenhub.vaultSecret" . | nindent 6 }}
{{- end }}

{{- define "tokenhub.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.uid }}
runAsGroup: {{ .Values.securityContext.uid }}
fsGroup: {{ .Values.securityContext.uid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "tokenhub.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Annotations that roll a workload when the settings it reads change. */}}
{{- define "tokenhub.checksums" -}}
checksum/settings: {{ include (print .Template.BasePath "/settings-configmap.yaml") . | sha256sum }}
{{- end }}

{{/* Cluster-scoped names carry the namespace, so two releases of one name never collide. */}}
{{- define "tokenhub.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "tokenhub.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tokenhub.peeringName" -}}
{{- if eq .Values.operator.mode "cluster" }}{{ include "tokenhub.clusterName" . }}{{ else }}{{ include "tokenhub.fullname" . }}{{ end }}
{{- end }}

{{/* Exactly what the operator's handlers and Kopf use: k8s/operator/rbac.yaml explains each rule, and a test
     keeps these equal to it and to rbac-namespaced.yaml. */}}
{{- define "tokenhub.operatorRules" -}}
- apiGroups: [tokenhub.io]
  resources: [providers, models, routingpolicies, apikeys]
  verbs: [list, watch, patch]
- apiGroups: [tokenhub.io]
  resources: [providers/status, models/status, routingpolicies/status, apikeys/status]
  verbs: [patch]
# Secrets: list/watch only those labelled tokenhub.io/provider-credential=true (a server-side selector RBAC
# cannot express); write only the key Secrets the operator owns.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* NetworkPolicy egress pieces. */}}
{{- define "tokenhub.dnsEgress" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end }}
{{- define "tokenhub.anywhereBut" -}}
- ipBlock:
    cidr: 0.0.0.0/0
    except:
      {{- toYaml . | nindent 6 }}
{{- end }}
{{- define "tokenhub.postgresEgress" -}}
- to:
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
        {{- if eq . "0.0.0.0/0" }}
        except:
          {{- toYaml $.except | nindent 10 }}
        {{- end }}
    {{- end }}
  ports:
    - {port: {{ .port }}, protocol: TCP}
{{- end }}
