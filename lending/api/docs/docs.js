// Renders the OpenAPI schema served at /api/schema/ as readable, runnable documentation.
// Self-contained on purpose: no CDN, no third-party bundle, nothing fetched but this API.
"use strict";

const keyInput = document.getElementById("api-key");
keyInput.value = sessionStorage.getItem("finai-api-key") || "";
keyInput.addEventListener("input", () => sessionStorage.setItem("finai-api-key", keyInput.value.trim()));

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Paragraphs with `code` and **bold**, built as DOM nodes (never innerHTML).
function markdown(text) {
  const container = el("div");
  for (const paragraph of (text || "").split(/\n\s*\n/)) {
    const p = el("p");
    for (const piece of paragraph.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
      if (piece.startsWith("`") && piece.endsWith("`")) p.append(el("code", {}, piece.slice(1, -1)));
      else if (piece.startsWith("**") && piece.endsWith("**")) p.append(el("strong", {}, piece.slice(2, -2)));
      else p.append(piece);
    }
    container.append(p);
  }
  return container;
}

function resolve(schema, spec) {
  let current = schema;
  while (current && current.$ref) {
    current = current.$ref.replace(/^#\//, "").split("/").reduce((node, part) => node[part], spec);
  }
  return current || {};
}

function typeLabel(schema, spec) {
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.allOf) return schema.allOf.map((part) => typeLabel(part, spec)).join(" & ");
  if (schema.oneOf) return schema.oneOf.map((part) => typeLabel(part, spec)).join(" | ");
  if (schema.enum) return "one of " + schema.enum.filter((v) => v !== null).map((v) => JSON.stringify(v)).join(", ");
  if (schema.type === "array") return "array of " + typeLabel(schema.items || {}, spec);
  return (schema.type || "any") + (schema.format ? ` (${schema.format})` : "") + (schema.nullable ? ", nullable" : "");
}

function schemaTable(schema, spec, depth = 0) {
  const resolved = resolve(schema, spec);
  const properties = resolved.properties || {};
  if (!Object.keys(properties).length || depth > 3) return el("p", { class: "muted" }, typeLabel(schema, spec));
  const required = new Set(resolved.required || []);
  const rows = Object.entries(properties).map(([name, property]) => {
    const inner = resolve(property.allOf ? property.allOf[0] : property, spec);
    const nested = inner.properties ? schemaTable(inner, spec, depth + 1) : null;
    return el("tr", {},
      el("td", {}, el("code", {}, name), required.has(name) ? " *" : ""),
      el("td", {}, typeLabel(property, spec), property.description || inner.description ? el("div", { class: "muted" }, property.description || inner.description) : null, nested));
  });
  return el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type")), rows);
}

function example(content) {
  if (!content) return "";
  if (content.example !== undefined) return JSON.stringify(content.example, null, 2);
  const first = Object.values(content.examples || {})[0];
  return first ? JSON.stringify(first.value, null, 2) : "";
}

function tryIt(method, path, operation) {
  const parameters = operation.parameters || [];
  const inputs = parameters.map((parameter) => {
    const input = el("input", { type: "text", placeholder: parameter.schema && parameter.schema.type || "" });
    if (parameter.name === "Idempotency-Key") input.value = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
    return { parameter, input };
  });
  const jsonBody = operation.requestBody && operation.requestBody.content["application/json"];
  const body = jsonBody ? el("textarea", {}, example(jsonBody)) : null;
  const output = el("pre", { class: "muted" }, "The response appears here.");
  const send = el("button", { type: "button" }, "Send");
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    const headers = { Accept: "application/json" };
    for (const { parameter, input } of inputs) {
      const value = input.value.trim();
      if (!value) continue;
      if (parameter.in === "path") url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
      else if (parameter.in === "query") query.append(parameter.name, value);
      else if (parameter.in === "header") headers[parameter.name] = value;
    }
    if (keyInput.value.trim()) headers.Authorization = `Bearer ${keyInput.value.trim()}`;
    if (body) headers["Content-Type"] = "application/json";
    output.textContent = "Sending…";
    try {
      const response = await fetch(url + (query.toString() ? `?${query}` : ""), {
        method: method.toUpperCase(), headers, body: body ? body.value : undefined, credentials: "same-origin",
      });
      const text = await response.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (error) { /* not JSON: show as is */ }
      const interesting = ["content-type", "location", "retry-after", "idempotent-replayed"];
      const lines = interesting.filter((name) => response.headers.get(name)).map((name) => `${name}: ${response.headers.get(name)}`);
      output.textContent = `HTTP ${response.status}\n${lines.join("\n")}\n\n${shown}`;
    } catch (error) {
      output.textContent = `The request failed: ${error}`;
    }
  });
  return el("div", {},
    el("h4", {}, "Try it"),
    inputs.length ? el("table", {}, inputs.map(({ parameter, input }) =>
      el("tr", {}, el("td", {}, el("code", {}, parameter.name), ` (${parameter.in})`, parameter.required ? " *" : ""), el("td", {}, input)))) : null,
    body, send, output);
}

function operationView(method, path, operation, spec) {
  const parameters = operation.parameters || [];
  const request = operation.requestBody ? Object.entries(operation.requestBody.content) : [];
  return el("details", { class: "operation", id: operation.operationId },
    el("summary", {}, el("span", { class: `method ${method}` }, method), " ", el("code", {}, path), " — ", operation.summary || ""),
    el("div", {},
      markdown(operation.description),
      parameters.length ? el("div", {}, el("h4", {}, "Parameters"), el("table", {}, parameters.map((p) =>
        el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? " *" : ""), el("td", {}, p.in), el("td", {}, typeLabel(p.schema || {}, spec), p.description ? el("div", { class: "muted" }, p.description) : null))))) : null,
      request.map(([mediaType, content]) => el("div", {}, el("h4", {}, `Body (${mediaType})`), schemaTable(content.schema || {}, spec),
        example(content) ? el("pre", {}, example(content)) : null)),
      el("h4", {}, "Responses"),
      el("table", {}, Object.entries(operation.responses || {}).map(([status, response]) =>
        el("tr", {}, el("td", {}, el("strong", {}, status)), el("td", {}, response.description || "",
          Object.entries(response.content || {}).map(([mediaType, content]) =>
            el("div", { class: "muted" }, `${mediaType}: ${typeLabel(content.schema || {}, spec)}`)))))),
      tryIt(method, path, operation)));
}

async function main() {
  const response = await fetch("/api/schema/?format=json", { headers: { Accept: "application/json" } });
  const spec = await response.json();
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
  document.getElementById("description").replaceChildren(markdown(spec.info.description));
  const operations = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (typeof operation === "object" && operation.responses) operations.push(operationView(method, path, operation, spec));
    }
  }
  const schemas = Object.entries(spec.components.schemas || {}).map(([name, schema]) =>
    el("details", { class: "operation", id: `schema-${name}` }, el("summary", {}, el("code", {}, name)), el("div", {}, schemaTable(schema, spec))));
  document.getElementById("operations").replaceChildren(...operations, el("h2", {}, "Schemas"), ...schemas);
}

main().catch((error) => {
  document.getElementById("operations").textContent = `The schema could not be loaded: ${error}`;
});
