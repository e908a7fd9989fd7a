// Command etcd is etcd's own server, built from the Go module proxy: etcd
// publishes no main package as a module, so scripts/cluster.sh builds this
// wrapper around etcdmain.Main (see scripts/cluster/etcd/go.mod).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
