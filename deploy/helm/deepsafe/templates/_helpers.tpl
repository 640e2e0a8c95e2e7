{{- define "deepsafe.fullname" -}}
{{- printf "%s-deepsafe" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* A detector's Kubernetes name: its registry name with "_" as "-". */}}
{{- define "deepsafe.detectorName" -}}
{{- printf "%s-%s" (include "deepsafe.fullname" .root) (.name | replace "_" "-") | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "deepsafe.labels" -}}
app.kubernetes.io/part-of: deepsafe
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "deepsafe.podAnnotations" -}}
{{- if .Values.mesh.enabled }}
{{ toYaml .Values.mesh.podAnnotations }}
{{- end }}
{{- end -}}

{{- define "deepsafe.jwtSecretName" -}}
{{- if .Values.jwt.existingSecret -}}{{ .Values.jwt.existingSecret }}{{- else -}}{{ include "deepsafe.fullname" . }}-secrets{{- end -}}
{{- end -}}
