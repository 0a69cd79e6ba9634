// The VPA's pod admission step (kubernetes/autoscaler vertical-pod-autoscaler/pkg/admission-controller
// resource/pod/handler.go, a mutating webhook upstream): a pod created under a VPA whose updateMode
// is not Off gets the recommended requests (and proportional limits) before it is stored. This is
// what updateMode Initial does, and how Recreate's replacement pods get their new size.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../api/object.js';
import {
  containerPolicyFor,
  recommendedResources,
  type VerticalPodAutoscaler,
  vpaTargetsPod,
  vpaUpdateMode,
} from '../../api/vpa.js';
import type { StrategyContext } from './types.js';

/** Applies the covering VPA's recommendation to a pod being created (mutates the pod). */
export function admitPodForVPA(obj: KObject, ctx: StrategyContext): void {
  const pod = obj as Pod;
  const ns = pod.metadata?.namespace;
  const vpas = (
    ctx.listStored('autoscaling.k8s.io', 'verticalpodautoscalers') as VerticalPodAutoscaler[]
  ).filter((v) => v.metadata?.namespace === ns && vpaUpdateMode(v) !== 'Off');
  if (vpas.length === 0 || !pod.metadata?.ownerReferences?.length) return;
  let replicaSets: KObject[] | undefined;
  const owner = (kind: string, name: string) => {
    if (kind !== 'ReplicaSet') return undefined;
    replicaSets ??= ctx.listStored('apps', 'replicasets');
    const rs = replicaSets.find((r) => r.metadata?.namespace === ns && r.metadata?.name === name);
    return (rs?.metadata?.ownerReferences ?? []).filter((o) => o.controller);
  };
  const vpa = vpas.find((v) => vpaTargetsPod(v, pod, owner));
  const recs = vpa?.status?.recommendation?.containerRecommendations ?? [];
  if (!vpa || recs.length === 0) return;
  const updated: string[] = [];
  (pod.spec?.containers ?? []).forEach((c, i) => {
    const rec = recs.find((r) => r.containerName === c.name);
    if (!rec) return;
    const resources = recommendedResources(c, rec, containerPolicyFor(vpa, c.name));
    if (!resources) return;
    c.resources = resources;
    updated.push(
      `container ${i}: ${Object.keys(rec.target)
        .map((r) => `${r} request`)
        .join(', ')}`,
    );
  });
  if (updated.length === 0) return;
  // Upstream's annotation saying what the admission step changed.
  const meta = pod.metadata;
  meta.annotations = {
    ...meta.annotations,
    vpaUpdates: `Pod resources updated by ${vpa.metadata?.name}: ${updated.join('; ')}`,
  };
}
