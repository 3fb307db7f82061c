// The package entry (`import {...} from 'masq'`): what a workload module needs — the workload context types,
// every rdma-core / librdmacm name and number (src/rdma-constants.ts), the rdma_cm helpers the built-ins use, and
// the topology plan types. Inside a checkout a module resolves 'masq' to this package by itself (Node's
// self-reference through package.json "exports"); elsewhere `npm link` in the checkout, then `npm link masq`.
export * from './rdma-constants.js'
export * from './workloads/sdk.js'
export type {Fabric, Host, Mode, ResolvedPlan, SecurityGroup, Tenant, Vm} from './topology/types.js'
