// Prices orders. Invoked directly with an order ({items: [{sku, quantity}]}),
// or through an HTTP API (payload format 2.0): POST /orders, GET /orders/{id}.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

const TAX_RATE = Number(process.env.TAX_RATE ?? "0.2");
const CATALOG = {
  towel: { price: 12.5, stock: 40 },
  mug: { price: 8, stock: 0 },
  kettle: { price: 35, stock: 3, supplier: "slow-supplier" },
};
// Module state survives warm invokes, as it does on Lambda.
const orders = new Map();

export class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = "ValidationError";
  }
}

export class OutOfStockError extends Error {
  constructor(sku) {
    super(`${sku} is out of stock`);
    this.name = "OutOfStockError";
  }
}

function validate(order) {
  if (!order || !Array.isArray(order.items) || order.items.length === 0) {
    throw new ValidationError("an order needs a non-empty 'items' list");
  }
  for (const { sku, quantity } of order.items) {
    if (!(sku in CATALOG)) throw new ValidationError(`unknown sku '${sku}'`);
    if (!Number.isInteger(quantity) || quantity < 1) throw new ValidationError(`bad quantity for '${sku}'`);
  }
  return order.items;
}

// Checks stock with the warehouse (or its slow supplier); rejects when short.
async function reserve(items) {
  for (const { sku, quantity } of items) {
    const entry = CATALOG[sku];
    if (entry.supplier) await sleep(3000); // the supplier's API takes its time
    if (entry.stock < quantity) throw new OutOfStockError(sku);
  }
  return items;
}

function price(items, requestId) {
  const subtotal = items.reduce((sum, { sku, quantity }) => sum + CATALOG[sku].price * quantity, 0);
  const tax = Math.round(subtotal * TAX_RATE * 100) / 100;
  const order = { id: randomUUID(), items, subtotal, tax, total: subtotal + tax, requestId };
  orders.set(order.id, order);
  console.log("order priced", JSON.stringify({ id: order.id, total: order.total }));
  return order;
}

async function http(event, context) {
  try {
    if (event.routeKey === "POST /orders") {
      const body = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString() : event.body;
      const order = price(await reserve(validate(JSON.parse(body || "{}"))), context.awsRequestId);
      return {
        statusCode: 201,
        headers: { "content-type": "application/json", location: `/orders/${order.id}` },
        body: JSON.stringify(order),
      };
    }
    if (event.routeKey === "GET /orders/{id}") {
      const order = orders.get(event.pathParameters.id);
      return order ?? { statusCode: 404, body: JSON.stringify({ message: "no such order" }) };
    }
  } catch (error) {
    if (error instanceof ValidationError || error instanceof SyntaxError) {
      return { statusCode: 400, body: JSON.stringify({ message: error.message }) };
    }
    if (error instanceof OutOfStockError) {
      return { statusCode: 409, body: JSON.stringify({ message: error.message }) };
    }
    throw error;
  }
  throw new Error(`no route for ${event.routeKey}`);
}

// Not async on purpose: a bad order throws before any promise exists, and a
// failed reservation is a rejected promise.
export const handler = (event, context) => {
  if (event?.requestContext?.http) return http(event, context);
  const items = validate(event);
  return reserve(items).then((reserved) => price(reserved, context.awsRequestId));
};
