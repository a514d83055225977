/** A few DOM helpers: elements from a tag, attributes and children; labelled form fields; downloads. */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

let nextId = 0;
/** A fresh element id with a readable prefix. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(
    typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
  );
}

/** `h("button", { type: "button", onclick }, "Grant")`: `on*` keys are listeners, `true` sets an empty attribute. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value as EventListener);
    } else if (key === "value" && "value" in element) {
      (element as HTMLInputElement).value = String(value);
    } else if (key === "checked" && element instanceof HTMLInputElement) {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Replaces the children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A label and its control (the control gets an id if it has none), with an optional hint tied by aria-describedby. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  if (!control.id) control.id = uid("field");
  const hintElement = hint ? h("small", { id: uid("hint"), class: "hint" }, hint) : undefined;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintElement);
}

/** A fieldset of checkboxes; returns the fieldset and a function reading the checked values. */
export function checkboxes(
  legend: string,
  options: { value: string; label: string; checked?: boolean }[],
  name: string,
): { element: HTMLFieldSetElement; checked: () => string[]; inputs: HTMLInputElement[] } {
  const inputs = options.map((option) =>
    h("input", { type: "checkbox", name, value: option.value, id: uid(name), checked: option.checked }),
  );
  const element = h(
    "fieldset",
    { class: "checks" },
    h("legend", {}, legend),
    options.map((option, index) => h("label", { for: inputs[index].id }, inputs[index], ` ${option.label}`)),
  );
  return { element, inputs, checked: () => inputs.filter((input) => input.checked).map((input) => input.value) };
}

/** A select with options `[value, label]`. */
export function select(options: [string, string][], attrs: Attrs = {}): HTMLSelectElement {
  return h(
    "select",
    attrs,
    options.map(([value, label]) => h("option", { value }, label)),
  );
}

/** A link that downloads `text` (or bytes) as `fileName`. */
export function downloadLink(
  fileName: string,
  text: string | Uint8Array,
  label: string,
  type = "application/json",
): HTMLAnchorElement {
  const url = URL.createObjectURL(new Blob([typeof text === "string" ? text : new Uint8Array(text)], { type }));
  return h("a", { href: url, download: fileName, class: "button-link" }, label);
}

/** Starts the download of `text` as `fileName` (for files that must be saved before something happens). */
export function download(fileName: string, text: string | Uint8Array, type = "application/json"): void {
  const link = downloadLink(fileName, text, fileName, type);
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/** A section with a heading. */
export function section(title: string, ...children: Child[]): HTMLElement {
  const headingId = uid("heading");
  return h("section", { "aria-labelledby": headingId }, h("h2", { id: headingId }, title), ...children);
}

/** A line of status text for a form, announced to screen readers. */
export function statusLine(): HTMLParagraphElement {
  return h("p", { class: "status", role: "status", "aria-live": "polite" });
}

/** Reads a file's bytes. */
export async function fileBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** Sentence parts as nodes: emphasised parts in <em>. */
export function sentence(parts: (string | { em: string })[]): Child[] {
  return parts.map((part) => (typeof part === "string" ? part : h("em", {}, part.em)));
}
