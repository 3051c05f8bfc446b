// The access tree: a row per area and, once expanded, per folder or form, each with
// Read / Write / Delete boxes. An area's box covers its folders, and the tree shows it:
// the folder's box is then ticked and locked. The whole tree comes from one `areas` request.

import { call } from "./api.js";
import { clone, part, setText } from "./view.js";

const FLAGS = ["read", "write", "delete"];
let areasLoading = null;

/** The catalog's areas and folders, fetched once per page load. */
export function loadAreas() {
  if (!areasLoading) {
    areasLoading = call("Areas").then((data) => data.areas);
    areasLoading.catch(() => {
      areasLoading = null;
    });
  }
  return areasLoading;
}

const keyOf = (area, folder) => `${area}/${folder ?? ""}`;
const none = () => ({ read: false, write: false, delete: false });
const same = (a, b) => FLAGS.every((f) => a[f] === b[f]);

export class AccessTree {
  constructor(container, { idPrefix }) {
    this.root = clone("tpl-tree");
    this.rows = part(this.root, "rows");
    this.idPrefix = idPrefix;
    this.state = new Map();
    this.baseline = new Map();
    this.boxes = new Map();
    container.replaceChildren(this.root);
  }

  async load() {
    this.areas = await loadAreas();
    this.render();
  }

  /** Start from the token's grants (what Save access compares against). */
  setGrants(grants) {
    this.baseline = new Map();
    for (const g of grants) {
      this.baseline.set(keyOf(g.area.key, g.folder?.key), { read: g.read, write: g.write, delete: g.delete });
    }
    this.state = new Map([...this.baseline].map(([k, v]) => [k, { ...v }]));
    this.refresh();
  }

  own(area, folder) {
    return this.state.get(keyOf(area, folder)) ?? none();
  }

  render() {
    this.rows.replaceChildren();
    for (const area of this.areas) {
      const folderRows = area.folders.map((folder) => this.row(area, folder));
      const areaRow = this.row(area, null);
      const expand = document.createElement("button");
      expand.type = "button";
      expand.className = "expand";
      const arrow = document.createElement("span");
      arrow.className = "arrow";
      arrow.setAttribute("aria-hidden", "true");
      expand.append(arrow, "Expand");
      expand.setAttribute("aria-expanded", "false");
      expand.setAttribute("aria-controls", folderRows.map((r) => r.id).join(" "));
      expand.disabled = folderRows.length === 0;
      expand.addEventListener("click", () => {
        const open = expand.getAttribute("aria-expanded") !== "true";
        expand.setAttribute("aria-expanded", String(open));
        for (const r of folderRows) r.hidden = !open;
      });
      part(areaRow, "name").after(expand);
      this.rows.append(areaRow, ...folderRows);
    }
    this.refresh();
  }

  row(area, folder) {
    const tr = clone("tpl-tree-row");
    const slug = `${this.idPrefix}-${area.key}${folder ? `--${folder.key}` : ""}`;
    tr.id = `${slug}-row`;
    tr.className = folder ? "folder" : "area";
    tr.hidden = Boolean(folder);
    setText(part(tr, "name"), folder ? folder.name : area.name);
    if (folder?.kind === "FORM") {
      const kind = part(tr, "kind");
      kind.hidden = false;
      setText(kind, "form");
    }
    for (const flag of FLAGS) {
      const box = tr.querySelector(`[data-access="${flag}"]`);
      const label = tr.querySelector(`[data-label="${flag}"]`);
      box.id = `${slug}-${flag}`;
      label.htmlFor = box.id;
      box.addEventListener("change", () => {
        const key = keyOf(area.key, folder?.key);
        this.state.set(key, { ...this.own(area.key, folder?.key), [flag]: box.checked });
        this.refresh();
      });
      this.boxes.set(`${keyOf(area.key, folder?.key)}:${flag}`, { box, area: area.key, folder: folder?.key });
    }
    return tr;
  }

  /** Show each box's state; a folder's box under a ticked area box is ticked and locked. */
  refresh() {
    for (const { box, area, folder } of this.boxes.values()) {
      const flag = box.dataset.access;
      const own = this.own(area, folder)[flag];
      const covered = Boolean(folder) && this.own(area, null)[flag];
      box.checked = own || covered;
      box.disabled = covered || this.readOnly === true;
      box.closest("td").classList.toggle("covered", covered);
      box.title = covered ? "Given by the area's box" : "";
    }
  }

  setReadOnly(readOnly) {
    this.readOnly = readOnly;
    this.refresh();
  }

  /** Every grant ticked, as GrantInput (for createSharedAccessToken). */
  grants() {
    const result = [];
    for (const [key, flags] of this.state) {
      if (!FLAGS.some((f) => flags[f])) continue;
      result.push(this.input(key, flags));
    }
    return result;
  }

  /** Entries that differ from the saved grants, as GrantInput (for `grant`; all false removes). */
  changes() {
    const keys = new Set([...this.state.keys(), ...this.baseline.keys()]);
    const result = [];
    for (const key of keys) {
      const now = this.state.get(key) ?? none();
      if (!same(now, this.baseline.get(key) ?? none())) result.push(this.input(key, now));
    }
    return result;
  }

  input(key, flags) {
    const [area, folder] = key.split("/");
    return { area, folder: folder || null, read: flags.read, write: flags.write, delete: flags.delete };
  }
}
