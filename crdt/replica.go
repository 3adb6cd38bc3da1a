package crdt

// ReplicaID names one replica: one incarnation of one process's state. Every
// update a replica makes is attributed to its ID, so two live replicas must
// never share one. The node package derives it from a node name and an epoch
// that changes whenever local state is lost, so a restarted process never
// reissues a (replica, counter) pair. The empty ReplicaID is invalid.
type ReplicaID string
