// A Node.js strategy client of the execution service, on @grpc/grpc-js with the protos loaded at
// run time (no generated code): it places a market order, follows its updates until FILLED, reads
// the strategy's positions, and shows how an INVALID_ARGUMENT names the field it refuses.
//
//   EXECUTION_ADDRESS   host:port of the service (default 127.0.0.1:50051)
//   EXECUTION_TOKEN     bearer token, when the service has [auth] (default: none)
//   EXECUTION_STRATEGY  strategy id to trade as (default momentum_v1)
//   EXECUTION_SYMBOL    symbol to buy (default AAPL)
//
// Exits 0 when every step did what it should, 1 otherwise. Quantities and prices stay the
// service's decimal strings: they are printed, never turned into JavaScript numbers.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const SERVICE_PROTOS = path.resolve(__dirname, '..', '..', 'protos');
const RPC_PROTOS = path.resolve(__dirname, 'protos'); // google/rpc, for the error details
// Every step is bounded, so that a service that never answers is a failure, not a hang.
const DEADLINE_MS = 15000;

const definition = protoLoader.loadSync(
  ['execution/v1/execution.proto', 'google/rpc/status.proto', 'google/rpc/error_details.proto'],
  // google/protobuf/{any,duration,timestamp}.proto come with protobufjs, which proto-loader
  // resolves before includeDirs.
  { includeDirs: [SERVICE_PROTOS, RPC_PROTOS], keepCase: true, enums: String, longs: String, defaults: true },
);
const execution = grpc.loadPackageDefinition(definition).execution.v1;
const RpcStatus = definition['google.rpc.Status'];
const BadRequest = definition['google.rpc.BadRequest'];
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

const address = process.env.EXECUTION_ADDRESS || '127.0.0.1:50051';
const token = process.env.EXECUTION_TOKEN || '';
const strategyId = process.env.EXECUTION_STRATEGY || 'momentum_v1';
const symbol = process.env.EXECUTION_SYMBOL || 'AAPL';

function credentials() {
  // Plaintext, as the service listens on loopback by default. With [server.tls], use
  // grpc.credentials.createSsl(ca) here and the token rides on the TLS channel.
  return grpc.credentials.createInsecure();
}

function metadata() {
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

function deadline() {
  return new Date(Date.now() + DEADLINE_MS);
}

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata(), { deadline: deadline() }, (error, response) =>
      error ? reject(error) : resolve(response));
  });
}

// Places the order and returns it as the service recorded it.
async function placeOrder(client, fields) {
  const { order } = await unary(client, 'PlaceOrder', {
    client_order_id: `node-${crypto.randomUUID()}`,
    strategy_id: strategyId,
    symbol,
    side: 'SIDE_BUY',
    order_type: 'ORDER_TYPE_MARKET',
    quantity: '10',
    ...fields,
  });
  return order;
}

// Follows the strategy's updates from the beginning (after_sequence 0: the replay covers
// whatever happened before the stream opened) until the order is FILLED. Resolves with the
// filled order; rejects if it ends otherwise or the stream ends first.
function untilFilled(client, orderId) {
  return new Promise((resolve, reject) => {
    const call = client.StreamOrderUpdates(
      { strategy_id: strategyId, symbol, after_sequence: '0' }, metadata(), { deadline: deadline() });
    let settled = false;
    const finish = (outcome, value) => {
      if (settled) return;
      settled = true;
      call.cancel();
      outcome(value);
    };
    call.on('data', (update) => {
      if (update.order.order_id !== orderId) return;
      const fill = update.fill ? ` fill ${update.fill.quantity} @ ${update.fill.price}` : '';
      console.log(`update ${update.sequence}: ${update.event_type} -> ${update.order.status}${fill}`);
      if (update.order.status === 'ORDER_STATUS_FILLED') finish(resolve, update.order);
      else if (['ORDER_STATUS_REJECTED', 'ORDER_STATUS_CANCELLED'].includes(update.order.status)) {
        const why = update.order.reject_reason || update.order.cancel_reason || update.detail;
        finish(reject, new Error(`order ${orderId} ended ${update.order.status}: ${why}`));
      }
    });
    call.on('error', (error) => finish(reject, error));
    call.on('end', () => finish(reject, new Error(`stream ended before order ${orderId} filled`)));
  });
}

// The field violations of an error's google.rpc.BadRequest detail, from the
// grpc-status-details-bin trailer (a serialized google.rpc.Status).
function fieldViolations(error) {
  const [raw] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (!raw) return [];
  const status = RpcStatus.deserialize(raw);
  return status.details
    .filter((detail) => detail.type_url === BAD_REQUEST_TYPE)
    .flatMap((detail) => BadRequest.deserialize(detail.value).field_violations);
}

async function main() {
  const client = new execution.ExecutionService(address, credentials());
  try {
    console.log(`connecting to ${address} as strategy ${strategyId}${token ? ' with a bearer token' : ''}`);

    const placed = await placeOrder(client, {});
    console.log(`placed order ${placed.order_id}: BUY ${placed.quantity} ${placed.symbol} MARKET, ${placed.status}`);

    const filled = await untilFilled(client, placed.order_id);
    console.log(`filled order ${filled.order_id}: ${filled.filled_quantity} @ ${filled.average_fill_price}`);

    const { positions } = await unary(client, 'GetPositions', { strategy_id: strategyId });
    for (const position of positions) {
      console.log(`position ${position.symbol}: ${position.quantity} @ ${position.average_entry_price}`
        + `, realized pnl ${position.realized_pnl}`);
    }
    if (!positions.some((position) => position.symbol === symbol)) {
      throw new Error(`no ${symbol} position for ${strategyId} after the fill`);
    }

    // A quantity that is not a decimal: the service refuses it and names the field.
    try {
      await placeOrder(client, { quantity: 'ten' });
      throw new Error('an order for quantity "ten" was accepted');
    } catch (error) {
      if (error.code !== grpc.status.INVALID_ARGUMENT) throw error;
      const violations = fieldViolations(error);
      for (const violation of violations) {
        console.log(`INVALID_ARGUMENT: ${violation.field}: ${violation.description}`);
      }
      if (!violations.some((violation) => violation.field === 'quantity')) {
        throw new Error('INVALID_ARGUMENT without a BadRequest violation naming quantity');
      }
    }

    console.log('done');
  } finally {
    client.close();
  }
}

main().catch((error) => {
  const code = error.code !== undefined ? ` (${grpc.status[error.code] || error.code})` : '';
  console.error(`failed${code}: ${error.details || error.message}`);
  process.exitCode = 1;
});
