// IP range rows (Label, IP Address from, IP Address to, Remove), checked as the admin types.
// The checks here only spare a round trip; the server's answer is the final word.

import { clearOnInput, setFieldError } from "./fields.js";
import { clone, part } from "./view.js";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** {version, value} of an IPv4 or IPv6 address, or null. IPv6 is parsed by the URL parser. */
export function parseAddress(text) {
  const value = text.trim();
  if (IPV4.test(value)) {
    return { version: 4, value: value.split(".").reduce((n, part) => n * 256n + BigInt(part), 0n) };
  }
  if (!value.includes(":") || /[\[\]/%]/.test(value)) return null;
  let host;
  try {
    host = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  // The URL parser writes the address compressed and in hex groups only.
  const [head, tail] = host.includes("::") ? host.split("::") : [host, null];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === null ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  let number = 0n;
  for (const group of groups) number = number * 65536n + BigInt(`0x${group}`);
  // ::ffff:a.b.c.d matches IPv4 ranges on the server: compare it as IPv4.
  if (number >> 32n === 0xffffn) return { version: 4, value: number & 0xffffffffn };
  return { version: 6, value: number };
}

function parseNetwork(text) {
  const [address, bits, ...rest] = text.trim().split("/");
  if (rest.length || !/^\d{1,3}$/.test(bits ?? "")) return null;
  const parsed = parseAddress(address);
  if (!parsed || Number(bits) > (parsed.version === 4 ? 32 : 128)) return null;
  return parsed;
}

/** The message for a range's `from` and `to` as typed ("" when fine), as the server words it. */
export function checkRange(from, to) {
  const result = { from: "", to: "" };
  if (!from.trim()) return { ...result, from: "from is required" };
  if (from.includes("/")) {
    if (!parseNetwork(from)) return { ...result, from: `from is not a valid CIDR network: '${from}'` };
    if (to.trim()) return { ...result, to: "to must be empty when from is a CIDR network" };
    return result;
  }
  const first = parseAddress(from);
  if (!first) return { ...result, from: `from is not a valid IP address: '${from}'` };
  if (!to.trim()) return result;
  const last = parseAddress(to);
  if (!last) return { ...result, to: `to is not a valid IP address: '${to}'` };
  if (last.version !== first.version) return { ...result, to: "to must be of the same IP family as from" };
  if (last.value < first.value) return { ...result, to: "to must not be lower than from" };
  return result;
}

let rowCount = 0;

export class IpRangeList {
  constructor(container, { idPrefix }) {
    this.root = clone("tpl-ranges");
    this.list = part(this.root, "rows");
    this.idPrefix = idPrefix;
    part(this.root, "add").addEventListener("click", () => {
      const row = this.add({});
      row.querySelector('[data-input="from"]').focus();
    });
    container.replaceChildren(this.root);
  }

  setRanges(ranges) {
    this.list.replaceChildren();
    for (const r of ranges) this.add(r);
  }

  add({ label = "", from = "", to = "" }) {
    const row = clone("tpl-range-row");
    const n = ++rowCount;
    const inputs = {};
    for (const name of ["label", "from", "to"]) {
      const input = row.querySelector(`[data-input="${name}"]`);
      input.id = `${this.idPrefix}-range-${n}-${name}`;
      row.querySelector(`[data-for="${name}"]`).htmlFor = input.id;
      inputs[name] = input;
    }
    inputs.label.value = label ?? "";
    inputs.from.value = from;
    // A single address is stored with to = from; show it as typed: to left empty.
    inputs.to.value = to && to !== from ? to : "";
    const check = () => {
      const problems = checkRange(inputs.from.value, inputs.to.value);
      // Required is the browser's own message until something is typed.
      setFieldError(inputs.from, inputs.from.value.trim() ? problems.from : "");
      setFieldError(inputs.to, problems.to);
    };
    clearOnInput(inputs.label);
    inputs.from.addEventListener("input", check);
    inputs.to.addEventListener("input", check);
    part(row, "remove").addEventListener("click", () => {
      const next = row.nextElementSibling ?? row.previousElementSibling;
      row.remove();
      this.renumber();
      (next?.querySelector("input") ?? part(this.root, "add")).focus();
    });
    row.inputs = inputs;
    this.list.append(row);
    this.renumber();
    return row;
  }

  renumber() {
    [...this.list.children].forEach((row, index) => {
      row.setAttribute("aria-label", `IP range ${index + 1}`);
    });
  }

  rows() {
    return [...this.list.children];
  }

  /** The ranges as IpRangeInput. */
  ranges() {
    return this.rows().map(({ inputs }) => ({
      label: inputs.label.value.trim() || null,
      from: inputs.from.value.trim(),
      to: inputs.to.value.trim() || null,
    }));
  }

  /** The input a server error names: `ipRanges[2].from` is row 3's from field. */
  inputFor(field) {
    const match = /^ipRanges\[(\d+)\]\.(label|from|to)$/.exec(field);
    if (!match) return null;
    return this.rows()[Number(match[1])]?.inputs[match[2]] ?? null;
  }
}

