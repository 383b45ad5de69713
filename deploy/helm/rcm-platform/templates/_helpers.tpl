{{/*
Names and labels. Kubernetes objects of a service are called rcm-<service> (also its DNS name, which
RCM_SERVICE_URLS points at). Helpers that need a service take (dict "root" $ "name" <service>).
*/}}

{{- define "rcm.serviceName" -}}
rcm-{{ .name }}
{{- end -}}

{{- define "rcm.image" -}}
{{ .root.Values.image.registry }}/rcm-{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{- define "rcm.commonLabels" -}}
app.kubernetes.io/part-of: rcm-platform
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "rcm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rcm.serviceName" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "rcm.labels" -}}
{{ include "rcm.commonLabels" .root }}
app.kubernetes.io/name: {{ include "rcm.serviceName" . }}
app.kubernetes.io/component: {{ .name }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
{{- end -}}

{{/* The Kafka connection settings (for the topic Job, which runs before the ConfigMap exists). */}}
{{- define "rcm.kafkaEnv" -}}
{{- range $key, $value := .Values.config }}
{{- if hasPrefix "RCM_KAFKA_" $key }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
- name: RCM_KAFKA_TOPIC_PARTITIONS
  value: {{ .Values.kafka.topicPartitions | quote }}
- name: RCM_KAFKA_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
{{- if .Values.secrets.kafkaSasl.existingSecret }}
- name: RCM_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.kafkaSasl.existingSecret }}
      key: {{ .Values.secrets.kafkaSasl.key }}
{{- end }}
{{- end -}}
