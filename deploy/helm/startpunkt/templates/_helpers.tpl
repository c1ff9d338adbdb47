{{/* The chart name, or startpunkt.nameOverride. */}}
{{- define "startpunkt.name" -}}
{{- .Values.startpunkt.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: the release name, with the chart name appended unless it is in it already. */}}
{{- define "startpunkt.fullname" -}}
{{- if .Values.startpunkt.fullnameOverride -}}
{{- .Values.startpunkt.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "startpunkt.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "startpunkt.namespace" -}}
{{- .Values.startpunkt.namespace | default .Release.Namespace -}}
{{- end -}}

{{- define "startpunkt.serviceAccountName" -}}
{{- .Values.startpunkt.serviceAccount.name | default (include "startpunkt.fullname" .) -}}
{{- end -}}

{{- define "startpunkt.selectorLabels" -}}
app.kubernetes.io/name: {{ include "startpunkt.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "startpunkt.labels" -}}
{{ include "startpunkt.selectorLabels" . }}
app.kubernetes.io/part-of: startpunkt
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.startpunkt.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
The configuration as Startpunkt reads it (the mapping below `startpunkt:` in startpunkt.yaml):
startpunkt.config, with namespaceSelector taken from rbac.namespaced when that lists namespaces,
so the RBAC and what Startpunkt reads cannot disagree.
*/}}
{{- define "startpunkt.config" -}}
{{- $config := deepCopy (.Values.startpunkt.config | default dict) -}}
{{- with .Values.startpunkt.rbac.namespaced -}}
{{- if hasKey $config "namespaceSelector" -}}
{{- fail "startpunkt.config.namespaceSelector and startpunkt.rbac.namespaced are both set: list the namespaces in startpunkt.rbac.namespaced only (the chart sets namespaceSelector from it, so the RBAC matches)" -}}
{{- end -}}
{{- $_ := set $config "namespaceSelector" (dict "any" false "matchNames" .) -}}
{{- end -}}
{{- toJson $config -}}
{{- end -}}

{{/*
Where Startpunkt reads, from the configuration's namespaceSelector: {"clusterWide": true} for
every namespace, else {"namespaces": [the listed ones]} (matchNames may be a list or "a,b").
*/}}
{{- define "startpunkt.scope" -}}
{{- $config := include "startpunkt.config" . | fromJson -}}
{{- $selector := $config.namespaceSelector | default dict -}}
{{- if and (hasKey $selector "any") (eq (toString (get $selector "any")) "false") -}}
{{- $listed := get $selector "matchNames" | default list -}}
{{- if kindIs "string" $listed -}}{{- $listed = splitList "," $listed -}}{{- end -}}
{{- $names := list -}}
{{- range $listed -}}{{- $names = append $names (trim (toString .)) -}}{{- end -}}
{{- dict "namespaces" ($names | compact | uniq) | toJson -}}
{{- else -}}
{{- dict "clusterWide" true | toJson -}}
{{- end -}}
{{- end -}}

{{/* true unless the configuration switches it off (`false` or "false"); dig's keys are a path. */}}
{{- define "startpunkt.on" -}}
{{- $config := index . 0 -}}
{{- $path := slice . 1 -}}
{{- $value := $config -}}
{{- range $path -}}
{{- if kindIs "map" $value -}}{{- $value = get $value . -}}{{- else -}}{{- $value = "" -}}{{- end -}}
{{- end -}}
{{- ne (toString $value) "false" -}}
{{- end -}}

{{/*
The rules for reading the sources the configuration switches on: the same kinds Startpunkt's
watch plan lists and watches (startpunkt.kube.supervising.plans), and patch on the status of its
own objects while status.enabled.
*/}}
{{- define "startpunkt.sourceRules" -}}
{{- $config := include "startpunkt.config" . | fromJson -}}
{{- $read := list "get" "list" "watch" -}}
{{- $ingress := eq (include "startpunkt.on" (list $config "ingress" "enabled")) "true" -}}
{{- $httproute := eq (include "startpunkt.on" (list $config "gatewayapi" "httproute" "enabled")) "true" -}}
- apiGroups: ["startpunkt.ullberg.us"]
  resources: ["applications", "bookmarks"]
  verbs: {{ toJson $read }}
{{- if eq (include "startpunkt.on" (list $config "hajimari" "enabled")) "true" }}
- apiGroups: ["hajimari.io"]
  resources: ["applications", "bookmarks"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if $ingress }}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if eq (include "startpunkt.on" (list $config "openshift" "enabled")) "true" }}
- apiGroups: ["route.openshift.io"]
  resources: ["routes"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if eq (include "startpunkt.on" (list $config "istio" "virtualservice" "enabled")) "true" }}
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if $httproute }}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes", "gateways"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if and (or $ingress $httproute) (eq (include "startpunkt.on" (list $config "availability" "enabled")) "true") }}
# endpoint readiness of the Services behind a link
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: {{ toJson $read }}
{{- end }}
{{- if eq (include "startpunkt.on" (list $config "status" "enabled")) "true" }}
# .status of Startpunkt's own objects: resolved URL, availability, why an object is not shown
- apiGroups: ["startpunkt.ullberg.us"]
  resources: ["applications/status", "bookmarks/status"]
  verbs: ["patch"]
{{- end }}
{{- if .Values.startpunkt.rbac.urlFrom.enabled }}
{{- range .Values.startpunkt.rbac.urlFrom.rules }}
# spec.urlFrom targets
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: {{ toJson $read }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The Lease the replicas elect a leader with (leaderElection.leaseName). */}}
{{- define "startpunkt.leaseName" -}}
{{- $config := include "startpunkt.config" . | fromJson -}}
{{- (get ($config.leaderElection | default dict) "leaseName") | default "startpunkt" -}}
{{- end -}}

{{/* A probe from values: httpGet.port defaults to the container's http port. */}}
{{- define "startpunkt.probe" -}}
{{- $probe := deepCopy . -}}
{{- if $probe.httpGet -}}
{{- $_ := set $probe.httpGet "port" ($probe.httpGet.port | default "http") -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}
