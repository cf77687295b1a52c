#!/usr/bin/env node
// marginspec-node-example: an independent engine for the isolated-margin rulebook.
//
// Written from RULES.md and spec/notes.yaml, in plain JavaScript for Node 20, with no
// dependencies. All arithmetic is exact: BigInt rationals, never floating point.
// `node engine.js` speaks the engine protocol (PROTOCOL.md): one JSON request per line on
// stdin, one JSON reply per line on stdout. Standard error is for logs only.

'use strict';

const readline = require('node:readline');

const ENGINE = { protocol: 1, engine: 'marginspec-node-example', version: '1.0.0' };

// ------------------------------------------------------------------------- exact rationals

function bigAbs(a) {
  return a < 0n ? -a : a;
}

function gcd(a, b) {
  a = bigAbs(a);
  b = bigAbs(b);
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// floor(a / b) for BigInt, b > 0 (BigInt division truncates towards zero).
function floorDiv(a, b) {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

const DECIMAL = /^[+-]?[0-9]+(\.[0-9]+)?$/;

class Rational {
  constructor(num, den = 1n) {
    if (den === 0n) throw new RangeError('division by zero');
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    const g = gcd(num, den);
    this.num = g > 1n ? num / g : num;
    this.den = g > 1n ? den / g : den;
  }

  static of(n) {
    return new Rational(BigInt(n), 1n);
  }

  // Parse a plain decimal string; null when the text is not one (N-numbers).
  static parse(text) {
    if (typeof text !== 'string' || !DECIMAL.test(text)) return null;
    let body = text;
    let sign = 1n;
    if (body[0] === '-' || body[0] === '+') {
      if (body[0] === '-') sign = -1n;
      body = body.slice(1);
    }
    const dot = body.indexOf('.');
    const whole = dot < 0 ? body : body.slice(0, dot);
    const frac = dot < 0 ? '' : body.slice(dot + 1);
    return new Rational(sign * BigInt(whole + frac), 10n ** BigInt(frac.length));
  }

  add(o) { return new Rational(this.num * o.den + o.num * this.den, this.den * o.den); }
  sub(o) { return new Rational(this.num * o.den - o.num * this.den, this.den * o.den); }
  mul(o) { return new Rational(this.num * o.num, this.den * o.den); }
  div(o) { return new Rational(this.num * o.den, this.den * o.num); }
  neg() { return new Rational(-this.num, this.den); }
  abs() { return this.num < 0n ? this.neg() : this; }

  cmp(o) {
    const l = this.num * o.den;
    const r = o.num * this.den;
    return l < r ? -1 : l > r ? 1 : 0;
  }
  lt(o) { return this.cmp(o) < 0; }
  le(o) { return this.cmp(o) <= 0; }
  gt(o) { return this.cmp(o) > 0; }
  ge(o) { return this.cmp(o) >= 0; }
  eq(o) { return this.cmp(o) === 0; }
  sign() { return this.num < 0n ? -1 : this.num > 0n ? 1 : 0; }
  isInteger() { return this.den === 1n; }

  floor() { return floorDiv(this.num, this.den); }
  ceil() { return -floorDiv(-this.num, this.den); }

  isMultipleOf(step) { return this.div(step).isInteger(); }
  floorTo(step) { return new Rational(this.div(step).floor(), 1n).mul(step); }
  ceilTo(step) { return new Rational(this.div(step).ceil(), 1n).mul(step); }
  roundHalfAwayTo(step) {
    const q = this.div(step);
    const r = q.abs().add(HALF).floor();
    return new Rational(q.sign() < 0 ? -r : r, 1n).mul(step);
  }

  // Exact decimal text, no exponent, no trailing zeros. Throws for a non-terminating value.
  toDecimalString() {
    let rest = this.den;
    let twos = 0;
    let fives = 0;
    while (rest % 2n === 0n) { rest /= 2n; twos += 1; }
    while (rest % 5n === 0n) { rest /= 5n; fives += 1; }
    if (rest !== 1n) throw new RangeError('no finite decimal expansion');
    const places = Math.max(twos, fives);
    const scaled = (this.num * 10n ** BigInt(places)) / this.den;
    const sign = scaled < 0n ? '-' : '';
    let digits = bigAbs(scaled).toString();
    if (places === 0) return sign + digits;
    digits = digits.padStart(places + 1, '0');
    const whole = digits.slice(0, digits.length - places);
    const frac = digits.slice(digits.length - places).replace(/0+$/, '');
    return sign + whole + (frac ? '.' + frac : '');
  }

  toString() { return this.toDecimalString(); }
}

const ZERO = Rational.of(0);
const ONE = Rational.of(1);
const HALF = new Rational(1n, 2n);
const CENT = new Rational(1n, 100n);
const DEFAULT_BUFFER = new Rational(5n, 1000n);

// ------------------------------------------------------------------------- errors and args

class EngineError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function invalid(message) {
  return new EngineError('INVALID_ARGUMENT', message);
}

function has(obj, key) {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decimalField(obj, key, where) {
  if (!has(obj, key)) throw invalid(`${where}${key} is missing`);
  const value = Rational.parse(obj[key]);
  if (value === null) throw invalid(`${where}${key} must be a plain decimal string`);
  return value;
}

function fmt(x) {
  return x === null ? null : x.toDecimalString();
}

// ------------------------------------------------------------------------- contracts

const CONTRACT_FIELDS = ['contract_multiplier', 'tick_size', 'lot_size', 'money_step', 'liquidation_buffer_rate',
  'taker_fee_rate', 'maintenance_basis', 'tiers'];

function parseContract(symbol, raw) {
  const where = `contract ${symbol}: `;
  if (!isObject(raw)) throw invalid(`contract ${symbol} must be an object`);
  const c = {
    multiplier: decimalField(raw, 'contract_multiplier', where),
    tick: decimalField(raw, 'tick_size', where),
    lot: decimalField(raw, 'lot_size', where),
    moneyStep: decimalField(raw, 'money_step', where),
    buffer: has(raw, 'liquidation_buffer_rate')
      ? decimalField(raw, 'liquidation_buffer_rate', where)
      : DEFAULT_BUFFER,
    // Protocol v1 additions (venue parameters), optional with their defaults.
    fee: has(raw, 'taker_fee_rate') ? decimalField(raw, 'taker_fee_rate', where) : ZERO,
    basis: has(raw, 'maintenance_basis') ? raw.maintenance_basis : 'mark',
    tiers: [],
  };
  // A field this engine does not implement could change the rules: refuse it, never ignore it.
  for (const key of Object.keys(raw)) {
    if (!CONTRACT_FIELDS.includes(key)) throw invalid(`${where}unknown field ${key} (not implemented by this engine)`);
  }
  if (c.fee.sign() < 0 || c.fee.ge(ONE)) throw invalid(`${where}taker_fee_rate must be in [0, 1)`);
  if (c.basis !== 'mark' && c.basis !== 'entry') throw invalid(`${where}maintenance_basis must be mark or entry`);
  for (const key of ['multiplier', 'tick', 'lot', 'moneyStep']) {
    if (c[key].sign() <= 0) throw invalid(`${where}${key} must be > 0`);
  }
  if (c.buffer.sign() < 0 || c.buffer.ge(ONE)) {
    throw invalid(`${where}liquidation_buffer_rate must be in [0, 1)`);
  }
  const rawTiers = raw.tiers;
  if (!has(raw, 'tiers') || !Array.isArray(rawTiers) || rawTiers.length === 0) {
    throw invalid(`${where}tiers must be a non-empty list`);
  }
  let previous = ZERO;
  rawTiers.forEach((rt, i) => {
    const tw = `contract ${symbol} tier ${i + 1}: `;
    if (!isObject(rt)) throw invalid(`${tw}must be an object`);
    const tier = {
      maxNotional: decimalField(rt, 'max_notional', tw),
      mmr: decimalField(rt, 'maintenance_margin_rate', tw),
      maxLeverage: decimalField(rt, 'max_leverage', tw),
      amount: decimalField(rt, 'maintenance_amount', tw),
    };
    if (tier.maxNotional.le(previous)) throw invalid(`${tw}max_notional must be positive and increasing`);
    if (tier.mmr.sign() < 0 || tier.mmr.ge(ONE)) throw invalid(`${tw}maintenance_margin_rate must be in [0, 1)`);
    if (tier.maxLeverage.lt(ONE)) throw invalid(`${tw}max_leverage must be >= 1`);
    if (tier.amount.sign() < 0) throw invalid(`${tw}maintenance_amount must be >= 0`);
    previous = tier.maxNotional;
    c.tiers.push(tier);
  });
  return c;
}

// First tier whose max_notional >= notional, else the last one (N-tier-boundary).
function tierFor(c, notional) {
  for (const t of c.tiers) {
    if (notional.le(t.maxNotional)) return t;
  }
  return c.tiers[c.tiers.length - 1];
}

// Derived values of a position at the mark (optionally with another margin).
function figures(c, pos, mark, margin = pos.margin) {
  const d = pos.side === 'long' ? 1 : -1;
  const D = Rational.of(d);
  const n = pos.size.mul(c.multiplier);
  const notional = n.mul(mark);
  const upnl = D.mul(n).mul(mark.sub(pos.entry));
  const equity = margin.add(upnl);
  const tier = tierFor(c, notional);
  // Maintenance margin on the mark or the entry notional, with the taker fee reserved on top of the rate.
  const basisNotional = c.basis === 'entry' ? n.mul(pos.entry) : notional;
  const mmTier = tierFor(c, basisNotional);
  const mm = basisNotional.mul(mmTier.mmr.add(c.fee)).sub(mmTier.amount);
  return { d, D, n, notional, upnl, equity, tier, mm };
}

function liquidationPrice(c, pos, f) {
  let root = null;
  if (c.basis === 'entry') {
    // maintenance margin does not move with the mark: L = E - d*(M - MM)/N
    root = pos.entry.sub(f.D.mul(pos.margin.sub(f.mm)).div(f.n));
  } else {
    for (const t of c.tiers) {
      // L_k = (N*E - d*(M + A_k)) / (N*(1 - d*(mmr_k + f)))
      root = f.n.mul(pos.entry).sub(f.D.mul(pos.margin.add(t.amount)))
        .div(f.n.mul(ONE.sub(f.D.mul(t.mmr.add(c.fee)))));
      if (f.n.mul(root).le(t.maxNotional)) break;
    }
  }
  if (root.sign() <= 0) return null;
  return f.d === 1 ? root.ceilTo(c.tick) : root.floorTo(c.tick);
}

function bankruptcyPrice(c, pos, f) {
  const price = f.d === 1
    ? pos.entry.sub(pos.margin.div(f.n)).ceilTo(c.tick)
    : pos.entry.add(pos.margin.div(f.n)).floorTo(c.tick);
  return price.sign() > 0 ? price : null;
}

// ------------------------------------------------------------------------- the engine

class Engine {
  constructor() {
    this.contracts = new Map();
    this.symbols = new Map();
    this.available = ZERO;
    this.insurance = ZERO;
  }

  handle(request) {
    const id = isObject(request) && has(request, 'id') ? request.id : null;
    try {
      if (!isObject(request)) throw invalid('a request must be a JSON object');
      const op = request.op;
      const handler = typeof op === 'string' && has(OPS, op) ? OPS[op] : null;
      if (handler === null) throw new EngineError('UNSUPPORTED', `unsupported op ${JSON.stringify(op)}`);
      let args = has(request, 'args') ? request.args : null;
      if (args === null || args === undefined) args = {};
      if (!isObject(args)) throw invalid('args must be a JSON object');
      const result = handler.call(this, args);
      return { id, ok: true, result };
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      return { id, ok: false, error: { code: err.code, message: err.message } };
    }
  }

  // -- common checks

  symbol(args) {
    const symbol = has(args, 'symbol') ? args.symbol : undefined;
    if (typeof symbol !== 'string') throw invalid('symbol must be a string');
    if (!this.contracts.has(symbol)) throw new EngineError('UNKNOWN_SYMBOL', `unknown symbol ${symbol}`);
    return [this.contracts.get(symbol), this.symbols.get(symbol)];
  }

  static positive(args, name) {
    const v = decimalField(args, name, '');
    if (v.sign() <= 0) throw invalid(`${name} must be > 0`);
    return v;
  }

  static money(args, name, c) {
    const v = Engine.positive(args, name);
    if (!v.isMultipleOf(c.moneyStep)) throw invalid(`${name} must be a multiple of money_step`);
    return v;
  }

  static choice(args, name, allowed) {
    const v = has(args, name) ? args[name] : undefined;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      throw invalid(`${name} must be one of ${allowed.join(', ')}`);
    }
    return v;
  }

  // -- liquidation and margin moves

  liquidateIfNeeded(c, st) {
    const pos = st.position;
    if (pos === null) return null;
    const f = figures(c, pos, st.mark);
    if (f.equity.gt(f.mm)) return null;
    const fill = f.d === 1
      ? st.mark.mul(ONE.sub(c.buffer)).floorTo(c.tick)
      : st.mark.mul(ONE.add(c.buffer)).ceilTo(c.tick);
    this.insurance = this.insurance.add(pos.margin.add(f.D.mul(f.n).mul(fill.sub(pos.entry))));
    st.position = null;
    return fill;
  }

  checkAdd(amount) {
    if (amount.gt(this.available)) {
      throw new EngineError('INSUFFICIENT_BALANCE', 'amount exceeds the available balance');
    }
  }

  checkReduce(c, st, amount) {
    const pos = st.position;
    const newMargin = pos.margin.sub(amount);
    const f = figures(c, pos, st.mark, newMargin);
    if (!(newMargin.sign() > 0 && f.equity.gt(f.mm))) {
      throw new EngineError('INSUFFICIENT_COVERAGE', 'the remaining margin would not cover maintenance');
    }
    if (newMargin.lt(f.notional.div(f.tier.maxLeverage))) {
      throw new EngineError('LEVERAGE_TOO_HIGH', 'the remaining margin is below notional / max_leverage');
    }
  }

  move(st, amount) {
    this.available = this.available.sub(amount);
    st.position.margin = st.position.margin.add(amount);
  }
}

const OPS = {
  hello() {
    return { ...ENGINE };
  },

  shutdown() {
    return {};
  },

  reset(args) {
    const raw = has(args, 'contracts') ? args.contracts : undefined;
    if (!isObject(raw)) throw invalid('contracts must be an object');
    const contracts = new Map();
    for (const symbol of Object.keys(raw)) contracts.set(symbol, parseContract(symbol, raw[symbol]));
    const available = decimalField(args, 'available_balance', '');
    if (available.sign() < 0) throw invalid('available_balance must be >= 0');
    this.contracts = contracts;
    this.symbols = new Map();
    for (const symbol of contracts.keys()) {
      this.symbols.set(symbol, { mode: 'isolated', mark: null, defaultLeverage: null, position: null });
    }
    this.available = available;
    this.insurance = ZERO;
    return {};
  },

  set_mark_price(args) {
    const [c, st] = this.symbol(args);
    st.mark = Engine.positive(args, 'price');
    const fill = this.liquidateIfNeeded(c, st);
    return fill === null ? { liquidated: false } : { liquidated: true, fill_price: fmt(fill) };
  },

  set_margin_mode(args) {
    const [, st] = this.symbol(args);
    const mode = Engine.choice(args, 'mode', ['isolated', 'cross']);
    if (st.position !== null) {
      throw new EngineError('MODE_LOCKED', 'the margin mode cannot change while a position is open');
    }
    st.mode = mode;
    return {};
  },

  set_leverage(args) {
    const [c, st] = this.symbol(args);
    const leverage = decimalField(args, 'leverage', '');
    if (leverage.lt(ONE)) throw invalid('leverage must be >= 1');
    const pos = st.position;
    if (pos === null) {
      if (leverage.gt(c.tiers[0].maxLeverage)) {
        throw new EngineError('LEVERAGE_TOO_HIGH', 'leverage exceeds the max leverage of tier 1');
      }
      st.defaultLeverage = leverage;
      return {};
    }
    const f = figures(c, pos, st.mark);
    if (leverage.gt(f.tier.maxLeverage)) {
      throw new EngineError('LEVERAGE_TOO_HIGH', "leverage exceeds the max leverage of the position's tier");
    }
    const target = f.notional.div(leverage).ceilTo(c.moneyStep);
    if (target.gt(pos.margin)) this.checkAdd(target.sub(pos.margin));
    else if (target.lt(pos.margin)) this.checkReduce(c, st, pos.margin.sub(target));
    this.move(st, target.sub(pos.margin));
    st.defaultLeverage = leverage;
    return {};
  },

  open_position(args) {
    const [c, st] = this.symbol(args);
    const side = Engine.choice(args, 'side', ['long', 'short']);
    const size = Engine.positive(args, 'size');
    if (!size.isMultipleOf(c.lot)) throw invalid('size must be a multiple of lot_size');
    let margin = has(args, 'margin') ? Engine.money(args, 'margin', c) : null;
    if (st.mode === 'cross') throw invalid('cross margin is outside this rulebook');
    if (st.mark === null) throw new EngineError('NO_MARK_PRICE', 'no mark price has been set');
    if (st.position !== null) throw new EngineError('POSITION_EXISTS', 'a position is already open');
    const notional = size.mul(c.multiplier).mul(st.mark);
    if (margin === null) {
      if (st.defaultLeverage === null) throw invalid('no margin given and no default leverage set');
      margin = notional.div(st.defaultLeverage).ceilTo(c.moneyStep);
    }
    if (notional.gt(c.tiers[c.tiers.length - 1].maxNotional)) {
      throw new EngineError('NOTIONAL_TOO_LARGE', 'notional exceeds the last tier');
    }
    if (margin.lt(notional.div(tierFor(c, notional).maxLeverage))) {
      throw new EngineError('BELOW_MIN_MARGIN', 'margin is below notional / max_leverage');
    }
    if (margin.gt(this.available)) {
      throw new EngineError('INSUFFICIENT_BALANCE', 'margin exceeds the available balance');
    }
    this.available = this.available.sub(margin);
    st.position = { side, size, entry: st.mark, margin };
    return {};
  },

  add_margin(args) {
    const [c, st] = this.symbol(args);
    const amount = Engine.money(args, 'amount', c);
    if (st.position === null) throw new EngineError('NO_POSITION', 'no open position');
    this.checkAdd(amount);
    this.move(st, amount);
    return {};
  },

  reduce_margin(args) {
    const [c, st] = this.symbol(args);
    const amount = Engine.money(args, 'amount', c);
    if (st.position === null) throw new EngineError('NO_POSITION', 'no open position');
    this.checkReduce(c, st, amount);
    this.move(st, amount.neg());
    return {};
  },

  apply_funding(args) {
    const [c, st] = this.symbol(args);
    const rate = decimalField(args, 'rate', '');
    if (!(rate.gt(ONE.neg()) && rate.lt(ONE))) throw invalid('rate must be in (-1, 1)');
    const pos = st.position;
    if (pos === null) throw new EngineError('NO_POSITION', 'no open position');
    const fee = pos.size.mul(c.multiplier).mul(st.mark).mul(rate).roundHalfAwayTo(c.moneyStep);
    pos.margin = pos.side === 'long' ? pos.margin.sub(fee) : pos.margin.add(fee);
    const fill = this.liquidateIfNeeded(c, st);
    const result = { fee: fmt(fee), liquidated: fill !== null };
    if (fill !== null) result.fill_price = fmt(fill);
    return result;
  },

  close_position(args) {
    const [c, st] = this.symbol(args);
    const pos = st.position;
    if (pos === null) throw new EngineError('NO_POSITION', 'no open position');
    const { equity } = figures(c, pos, st.mark);
    const returned = equity.sign() > 0 ? equity : ZERO;
    this.available = this.available.add(returned);
    if (equity.sign() < 0) this.insurance = this.insurance.add(equity);
    st.position = null;
    return { returned: fmt(returned) };
  },

  query(args) {
    const [c, st] = this.symbol(args);
    const pos = st.position;
    let position = null;
    if (pos !== null) {
      const f = figures(c, pos, st.mark);
      const leverage = pos.margin.sign() > 0 ? f.notional.div(pos.margin).roundHalfAwayTo(CENT) : null;
      position = {
        side: pos.side,
        size: fmt(pos.size),
        entry_price: fmt(pos.entry),
        isolated_margin: fmt(pos.margin),
        notional: fmt(f.notional),
        unrealized_pnl: fmt(f.upnl),
        equity: fmt(f.equity),
        maintenance_margin: fmt(f.mm),
        leverage: fmt(leverage),
        liquidation_price: fmt(liquidationPrice(c, pos, f)),
        bankruptcy_price: fmt(bankruptcyPrice(c, pos, f)),
      };
    }
    return {
      available_balance: fmt(this.available),
      insurance_fund: fmt(this.insurance),
      margin_mode: st.mode,
      mark_price: fmt(st.mark),
      position,
    };
  },
};

// ------------------------------------------------------------------------- the process

function main() {
  const engine = new Engine();
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let done = false;
  rl.on('line', (line) => {
    if (done || line.trim() === '') return;
    let request;
    let reply;
    try {
      request = JSON.parse(line);
    } catch (err) {
      request = undefined;
      reply = { id: null, ok: false, error: { code: 'INVALID_ARGUMENT', message: 'a request must be one JSON object' } };
    }
    if (reply === undefined) {
      try {
        reply = engine.handle(request);
      } catch (err) {
        process.stderr.write(`internal error: ${err && err.stack ? err.stack : err}\n`);
        const id = isObject(request) && has(request, 'id') ? request.id : null;
        reply = { id, ok: false, error: { code: 'INTERNAL', message: String(err && err.message) } };
      }
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
    if (isObject(request) && request.op === 'shutdown' && reply.ok) {
      done = true;
      rl.close();
      process.stdout.write('', () => process.exit(0));
    }
  });
  rl.on('close', () => {
    if (!done) process.stdout.write('', () => process.exit(0));
  });
}

if (require.main === module) {
  main();
}

module.exports = { Rational, Engine };
