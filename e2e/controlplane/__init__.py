"""A throwaway Kubernetes control plane on loopback, built from Go modules.

etcd + kube-apiserver by default; kube-controller-manager, kube-scheduler and kwok's fake Nodes on request, so
Pods get scheduled and run. The binaries come from build.sh; `cluster.Cluster` runs them in a temporary
directory with static tokens and RBAC.
"""
