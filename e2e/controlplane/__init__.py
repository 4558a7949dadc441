"""A throwaway Kubernetes control plane (etcd + kube-apiserver) on loopback, built from Go modules.

The binaries come from build.sh; `cluster.Cluster` runs them in a temporary directory with static tokens and RBAC.
"""
