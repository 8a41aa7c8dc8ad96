// Command brokersetup writes deploy/rabbitmq/setup.sh, the script with which
// compose provisions each system's broker user, from topology.Platform:
//
//	cd e2e && go run ./cmd/brokersetup > ../deploy/rabbitmq/setup.sh
package main

import (
	"fmt"

	"github.com/scs-platform/shared-events/eventing/provision"
	"github.com/scs-platform/shared-events/eventing/topology"
)

func main() { fmt.Print(provision.SetupScript(topology.Platform)) }
