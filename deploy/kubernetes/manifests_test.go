// Package kubernetes checks wasmbox's Kubernetes manifests against Kubernetes' own API types
// (strict decoding: an unknown or misspelt field fails), and what the manifests must say for
// cluster mode to work. It is a module of its own, so wasmbox does not depend on Kubernetes'.
package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

// load decodes every document of every .yaml file here, strictly, by its kind.
func load(t *testing.T) objects {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	var o objects
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s #%d: %v", f, i, err)
			}
			var target any
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 Deployment":
				d := &appsv1.Deployment{}
				o.deployments, target = append(o.deployments, d), d
			case "v1 Service":
				s := &corev1.Service{}
				o.services, target = append(o.services, s), s
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				o.configMaps, target = append(o.configMaps, c), c
			case "v1 Secret":
				s := &corev1.Secret{}
				o.secrets, target = append(o.secrets, s), s
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				o.pdbs, target = append(o.pdbs, p), p
			case "autoscaling/v2 HorizontalPodAutoscaler":
				h := &autoscalingv2.HorizontalPodAutoscaler{}
				o.hpas, target = append(o.hpas, h), h
			default:
				t.Fatalf("%s #%d: unexpected %s %s", f, i, head.APIVersion, head.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, target); err != nil {
				t.Fatalf("%s #%d (%s): %v", f, i, head.Kind, err)
			}
		}
	}
	return o
}

func TestManifests(t *testing.T) {
	o := load(t)
	if len(o.deployments) != 1 || len(o.services) != 1 || len(o.configMaps) != 1 || len(o.secrets) != 1 || len(o.pdbs) != 1 || len(o.hpas) != 1 {
		t.Fatalf("want one of each object: %d deployments, %d services, %d config maps, %d secrets, %d budgets, %d autoscalers",
			len(o.deployments), len(o.services), len(o.configMaps), len(o.secrets), len(o.pdbs), len(o.hpas))
	}
	d, svc, cm, sec, pdb, hpa := o.deployments[0], o.services[0], o.configMaps[0], o.secrets[0], o.pdbs[0], o.hpas[0]
	labels := d.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !matches(d.Spec.Selector.MatchLabels) || !matches(svc.Spec.Selector) || !matches(pdb.Spec.Selector.MatchLabels) {
		t.Error("the deployment's, service's and budget's selectors must match the pods' labels")
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 || hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("cluster mode wants at least two replicas")
	}
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != d.Name {
		t.Errorf("the autoscaler scales %v, not the deployment", hpa.Spec.ScaleTargetRef)
	}
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
		t.Error("the budget lets at most one replica go at a time")
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatal("one container")
	}
	c := pod.Containers[0]
	port := int32(0)
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = p.ContainerPort
		}
	}
	if port != 7860 {
		t.Errorf("port %d, want 7860", port)
	}
	for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe must be GET /healthz on the http port", what)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Error("no preStop hook: endpoints must drop the pod before it stops")
	}
	// What configures cluster mode, and where it comes from.
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if !strings.Contains(env["WASMBOX_REPLICA_URL"], "$(POD_IP)") {
		t.Error("WASMBOX_REPLICA_URL must name the pod's own address")
	}
	from := map[string]bool{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == cm.Name {
			from["configmap"] = true
		}
		if ef.SecretRef != nil && ef.SecretRef.Name == sec.Name {
			from["secret"] = true
		}
	}
	if !from["configmap"] || !from["secret"] {
		t.Error("the container must take its settings from the config map and its credentials from the secret")
	}
	if !strings.HasPrefix(cm.Data["WASMBOX_STORE"], "s3://") {
		t.Error("the config map must set WASMBOX_STORE")
	}
	for _, k := range []string{"WASMBOX_REDIS_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if _, ok := sec.StringData[k]; !ok {
			t.Errorf("the secret must carry %s", k)
		}
		if _, ok := cm.Data[k]; ok {
			t.Errorf("%s belongs in the secret, not the config map", k)
		}
	}
	// Resources sized from the memory budget: the workers' budget and the server fit in the
	// limit; a stopping replica has time to finish a run and hand its sessions over.
	budget := resource.MustParse(strings.TrimSuffix(cm.Data["WASMBOX_MEMORY_BUDGET"], "G") + "Gi")
	limit := c.Resources.Limits[corev1.ResourceMemory]
	request := c.Resources.Requests[corev1.ResourceMemory]
	if budget.IsZero() || limit.Value() < budget.Value()+1<<30 || request.Value() < budget.Value() {
		t.Errorf("memory: budget %s, request %s, limit %s: want request >= budget and limit >= budget + 1Gi",
			budget.String(), request.String(), limit.String())
	}
	timeout := int64(30)
	if v := cm.Data["EXECUTION_TIMEOUT"]; v != "" {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			t.Fatal(err)
		}
		timeout = q.Value()
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < timeout+20 {
		t.Errorf("terminationGracePeriodSeconds must exceed EXECUTION_TIMEOUT (%d s) with room to hand sessions over", timeout)
	}
	sc := c.SecurityContext
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 {
		t.Error("the pod runs as non-root, without privilege escalation or capabilities")
	}
}
