export { classifyAddress, type AddressClass } from './address-policy';
export { OutboundRefusedError, type OutboundRefusalCode } from './errors';
export { checkConnectedAddress, createGuardedClient, publicOnlyLookup, refusalOf, type GuardedClient, type OutboundRequest, type OutboundResponse } from './guarded-client';
export { checkOutboundUrl, type OutboundPolicy } from './outbound-url';
