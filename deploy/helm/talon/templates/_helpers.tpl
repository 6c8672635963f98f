{{- define "talon.labels" -}}
app.kubernetes.io/name: talon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "talon.selector" -}}
app.kubernetes.io/name: talon
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "talon.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name }}{{- else -}}{{ .Values.serviceAccount.name | default "default" }}{{- end -}}
{{- end -}}
