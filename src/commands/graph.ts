import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'

export default class Graph extends BaseCommand {
  static override summary = 'Draw a topology: hosts, VMs by tenant, and the connections security groups allow.'
  static override description = `Hosts are drawn as clusters (dot) or subgraphs (mermaid); inside them the VMs are grouped and coloured by tenant. An edge A -> B means that A may open an RDMA connection to B: B's ingress rules admit A and A's egress rules admit B. Edges are labelled with the rdma_cm ports; tenants never connect to each other, and sriov/hyv/bare VMs (no security rules) get no edges.

The topology is validated first; on errors they are printed on stderr and the exit status is 1.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/multi-tenant.yaml',
    '<%= config.bin %> <%= command.id %> examples/multi-tenant.yaml --format dot | dot -Tsvg > lab.svg',
    '<%= config.bin %> <%= command.id %> examples/qos.yaml --format json',
  ]
  static override enableJsonFlag = true
  static override args = {
    topology: Args.string({description: 'topology YAML file', required: true}),
  }
  static override flags = {
    format: Flags.option({char: 'f', options: ['mermaid', 'dot', 'json'] as const, default: 'mermaid', summary: 'output format'})(),
  }

  public async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Graph)
    const {loadTopology} = await import('../topology/load.js')
    const r = await loadTopology(args.topology)
    if (!r.ok) {
      const {formatErrors} = await import('../topology/errors.js')
      process.stderr.write(formatErrors(r.errors) + '\n')
      this.error(`${args.topology}: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; run \`masq validate\` for details`, {exit: 1})
    }
    const {buildGraph, renderGraph} = await import('../topology/graph.js')
    if (this.jsonEnabled()) return buildGraph(r.plan)
    process.stdout.write(renderGraph(r.plan, flags.format))
    return undefined
  }
}
