/* Skip logic in the browser: the same small expression language as questionnaires/expressions.py
 * (a tokenizer and a recursive-descent parser, never eval), plus showing and hiding questions,
 * computing `calculate` questions (data-calculate) and offering only the choices a choice_filter
 * allows (data-choice-filter, with each choice's columns in data-choices).
 *
 * A question wrapper carries data-question="id" and, when it has skip logic,
 * data-relevant="expression". Answers are read from the form in document order; a hidden
 * question counts as unanswered for the questions after it, as on the server. The server's
 * validation stays the single source of truth: this only spares the respondent questions that
 * do not apply. Both evaluators run tests/questionnaires/skiplogic_cases.json.
 */
(function (root) {
  "use strict";

  var NUMERIC = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;
  var ISO_DATE = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/;
  var TOKEN = /(\s+)|(\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\})|(\d+(?:\.\d*)?|\.\d+)|('[^']*'|"[^"]*")|(<=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)|((?:\.\.\/|\/)(?:(?:[A-Za-z_][A-Za-z0-9_\-]*|\.\.)\/)*[A-Za-z_][A-Za-z0-9_\-]*)|(\.)|([A-Za-z_][A-Za-z0-9_\-]*)/y;
  var FUNCTIONS = {
    "selected": [2, 2], "count-selected": [1, 1], "string-length": [1, 1], "not": [1, 1],
    "true": [0, 0], "false": [0, 0], "number": [1, 1], "regex": [2, 2],
    "if": [3, 3], "coalesce": [2, 2], "concat": [0, 99], "string": [1, 1], "int": [1, 1], "round": [1, 2],
    "floor": [1, 1], "ceiling": [1, 1], "abs": [1, 1], "pow": [2, 2], "sqrt": [1, 1], "exp": [1, 1],
    "log": [1, 1], "log10": [1, 1], "sin": [1, 1], "cos": [1, 1], "tan": [1, 1], "asin": [1, 1],
    "acos": [1, 1], "atan": [1, 1], "atan2": [2, 2], "pi": [0, 0], "min": [1, 99], "max": [1, 99],
    "contains": [2, 2], "starts-with": [2, 2], "ends-with": [2, 2], "substr": [2, 3],
    "normalize-space": [1, 1], "selected-at": [2, 2], "boolean": [1, 1], "boolean-from-string": [1, 1],
    "once": [1, 1], "today": [0, 0], "now": [0, 0], "date": [1, 1]
  };
  var QUOTES = { "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                 "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"' };
  function straightQuotes(text) {
    return text.replace(/[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f]/g, function (c) { return QUOTES[c]; });
  }
  var KEYWORDS = { "and": 1, "or": 1, "div": 1, "mod": 1 };
  var COMPARISONS = { "=": 1, "!=": 1, "<": 1, "<=": 1, ">": 1, ">=": 1 };

  function ExpressionError(message) {
    this.name = "ExpressionError";
    this.message = message;
  }
  ExpressionError.prototype = Object.create(Error.prototype);

  function tokens(text) {
    var out = [];
    var pos = 0;
    while (pos < text.length) {
      TOKEN.lastIndex = pos;
      var m = TOKEN.exec(text);
      if (!m) throw new ExpressionError("unexpected character '" + text[pos] + "' at position " + (pos + 1));
      if (m[1] === undefined) {
        if (m[2] !== undefined) out.push({ kind: "ref", value: m[3], pos: pos });
        else if (m[4] !== undefined) out.push({ kind: "number", value: m[4], pos: pos });
        else if (m[5] !== undefined) out.push({ kind: "string", value: m[5].slice(1, -1), pos: pos });
        else if (m[6] !== undefined) out.push({ kind: "op", value: m[6], pos: pos });
        else if (m[7] !== undefined) out.push({ kind: "ref", value: m[7].split("/").pop(), pos: pos });
        else if (m[8] !== undefined) out.push({ kind: "dot", value: ".", pos: pos });
        else out.push({ kind: "name", value: m[9], pos: pos });
      }
      pos = TOKEN.lastIndex;
    }
    out.push({ kind: "end", value: "", pos: text.length });
    return out;
  }

  function parse(text) {
    if (typeof text !== "string" || !text.trim()) throw new ExpressionError("an expression cannot be empty");
    var toks = tokens(straightQuotes(text));
    var i = 0;
    function peek() { return toks[i]; }
    function next() { return toks[i++]; }
    function fail(tok, expected) {
      return new ExpressionError("expected " + expected + " at position " + (tok.pos + 1) +
        " but found " + (tok.kind === "end" ? "the end" : "'" + tok.value + "'"));
    }
    function isWord(w) { return peek().kind === "name" && peek().value === w; }
    function isOp(o) { return peek().kind === "op" && peek().value === o; }
    function expectOp(o) { var t = next(); if (t.kind !== "op" || t.value !== o) throw fail(t, "'" + o + "'"); }
    function orExpr() {
      var node = andExpr();
      while (isWord("or")) { next(); node = ["bin", "or", node, andExpr()]; }
      return node;
    }
    function andExpr() {
      var node = comparison();
      while (isWord("and")) { next(); node = ["bin", "and", node, comparison()]; }
      return node;
    }
    function comparison() {
      var node = additive();
      var t = peek();
      if (t.kind === "op" && COMPARISONS[t.value]) {
        next();
        node = ["bin", t.value, node, additive()];
        var n = peek();
        if (n.kind === "op" && COMPARISONS[n.value]) throw fail(n, "'and' or 'or' (comparisons do not chain)");
      }
      return node;
    }
    function additive() {
      var node = multiplicative();
      while (isOp("+") || isOp("-")) { var op = next().value; node = ["bin", op, node, multiplicative()]; }
      return node;
    }
    function multiplicative() {
      var node = unary();
      while (isOp("*") || isWord("div") || isWord("mod")) { var op = next().value; node = ["bin", op, node, unary()]; }
      return node;
    }
    function unary() {
      if (isOp("-")) { next(); return ["neg", unary()]; }
      return primary();
    }
    function primary() {
      var t = next();
      if (t.kind === "number") return ["num", parseFloat(t.value)];
      if (t.kind === "string") return ["str", t.value];
      if (t.kind === "ref") return ["ref", t.value];
      if (t.kind === "dot") return ["dot"];
      if (t.kind === "op" && t.value === "(") { var inner = orExpr(); expectOp(")"); return inner; }
      if (t.kind === "name" && !KEYWORDS[t.value]) {
        if (!isOp("(")) return ["column", t.value];
        if (!Object.prototype.hasOwnProperty.call(FUNCTIONS, t.value)) {
          throw new ExpressionError("unknown function '" + t.value + "' at position " + (t.pos + 1));
        }
        expectOp("(");
        var args = [];
        if (!isOp(")")) {
          args.push(orExpr());
          while (isOp(",")) { next(); args.push(orExpr()); }
        }
        expectOp(")");
        var arity = FUNCTIONS[t.value];
        if (args.length < arity[0] || args.length > arity[1]) {
          throw new ExpressionError(t.value + "() takes " + arity[0] + " argument(s), got " + args.length);
        }
        if (t.value === "regex" && args[1][0] !== "str") throw new ExpressionError("regex() needs a quoted pattern");
        return ["call", t.value, args];
      }
      throw fail(t, "a value, ${question}, a function or '('");
    }
    var tree = orExpr();
    if (peek().kind !== "end") throw fail(peek(), "an operator or the end");
    return tree;
  }

  var cache = {};
  function parsed(text) {
    if (!Object.prototype.hasOwnProperty.call(cache, text)) cache[text] = parse(text);
    return cache[text];
  }

  // -- values: null, boolean, number, string or an array of those ------------------------------
  function normalise(v) {
    if (v === undefined || v === null || v === "") return null;
    if (typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
    if (Array.isArray(v)) {
      return v.filter(function (x) { return x !== null && x !== undefined && x !== ""; }).map(normalise);
    }
    return String(v);
  }
  function toNumber(v) {
    if (v === null) return NaN;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    if (typeof v === "string") {
      if (NUMERIC.test(v)) return parseFloat(v);
      var d = ISO_DATE.exec(v);
      if (d) {
        var y = +d[1], mo = +d[2], da = +d[3];
        var ms = Date.UTC(y, mo - 1, da);
        var back = new Date(ms);
        // 1900-2-30 is not a date: as in Python, an impossible date is not a number
        if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== da || y < 1) return NaN;
        return Math.round(ms / 86400000);
      }
      return NaN;
    }
    return NaN;
  }
  function truth(v) {
    if (v === null) return false;
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return !isNaN(v) && v !== 0;
    return v.length > 0;
  }
  function pyRepr(n) {
    // Python's repr() of a non-integral float, for identical text on both sides.
    var s = String(n);
    if (/e/.test(s)) {
      var m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
      if (m) s = m[1] + "e" + m[2] + (m[3].length < 2 ? "0" + m[3] : m[3]);
    }
    return s;
  }
  function text(v) {
    if (v === null) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
      if (isNaN(v)) return "NaN";
      return Number.isInteger(v) ? String(v) : pyRepr(v);
    }
    if (Array.isArray(v)) return v.map(text).join(" ");
    return v;
  }
  function equal(a, b) {
    if (a === null || b === null) return (a === null || a === "") && (b === null || b === "");
    if (typeof a === "boolean" || typeof b === "boolean") return truth(a) === truth(b);
    if (Array.isArray(a) || Array.isArray(b)) return text(a) === text(b);
    if (typeof a === "number" || typeof b === "number") {
      var x = toNumber(a), y = toNumber(b);
      return !isNaN(x) && !isNaN(y) && x === y;
    }
    return a === b;
  }
  function order(op, a, b) {
    if (a === null || b === null || Array.isArray(a) || Array.isArray(b)) return false;
    var x = toNumber(a), y = toNumber(b), l, r;
    if (!isNaN(x) && !isNaN(y)) { l = x; r = y; }
    else if (typeof a === "string" && typeof b === "string" && isNaN(x) && isNaN(y)) { l = a; r = b; }
    else return false;
    if (op === "<") return l < r;
    if (op === "<=") return l <= r;
    if (op === ">") return l > r;
    return l >= r;
  }
  function items(v) {
    if (Array.isArray(v)) return v;
    var s = text(v).trim();
    return s ? s.split(/\s+/) : [];
  }
  function roundHalfUp(x, digits) {
    if (isNaN(x) || isNaN(digits) || !isFinite(x)) return isNaN(digits) ? NaN : x;
    var scale = Math.pow(10, Math.trunc(digits));
    return Math.floor(x * scale + 0.5) / scale;
  }
  function pad(n, w) { var s = String(n); while (s.length < w) s = "0" + s; return s; }
  function isoDate(d) { return pad(d.getUTCFullYear(), 4) + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2); }
  function vietnamNow() { return new Date(Date.now() + 7 * 3600000); }  // read with getUTC*: the time in Vietnam
  function dateText(v) {
    if (typeof v === "string" && ISO_DATE.test(v)) return v.trim();
    var x = toNumber(v);
    if (isNaN(x) || !isFinite(x)) return null;
    return isoDate(new Date(Math.floor(x) * 86400000));
  }
  var MATH = {
    "pow": Math.pow, "sqrt": Math.sqrt, "exp": Math.exp, "log": Math.log, "log10": Math.log10, "sin": Math.sin,
    "cos": Math.cos, "tan": Math.tan, "asin": Math.asin, "acos": Math.acos, "atan": Math.atan, "atan2": Math.atan2
  };
  function call(name, args, env) {
    if (Object.prototype.hasOwnProperty.call(MATH, name)) {
      var r = MATH[name].apply(null, args.map(toNumber));
      return isFinite(r) || isNaN(r) ? r : NaN;
    }
    switch (name) {
      case "true": return true;
      case "false": return false;
      case "not": return !truth(args[0]);
      case "boolean": return truth(args[0]);
      case "boolean-from-string": { var b = text(args[0]).trim(); return b === "true" || b === "1"; }
      case "number": return toNumber(args[0]);
      case "int": { var i = toNumber(args[0]); return isFinite(i) ? Math.trunc(i) : i; }
      case "round": return roundHalfUp(toNumber(args[0]), args.length > 1 ? toNumber(args[1]) : 0);
      case "floor": return Math.floor(toNumber(args[0]));
      case "ceiling": return Math.ceil(toNumber(args[0]));
      case "abs": return Math.abs(toNumber(args[0]));
      case "pi": return Math.PI;
      case "min": case "max": {
        var ns = args.map(toNumber);
        if (ns.some(function (n) { return isNaN(n); })) return NaN;
        return name === "min" ? Math.min.apply(null, ns) : Math.max.apply(null, ns);
      }
      case "string": return text(args[0]);
      case "concat": return args.map(text).join("");
      case "contains": return text(args[0]).indexOf(text(args[1])) !== -1;
      case "starts-with": return text(args[0]).indexOf(text(args[1])) === 0;
      case "ends-with": { var s1 = text(args[0]), s2 = text(args[1]); return s1.slice(s1.length - s2.length) === s2 || s2 === ""; }
      case "substr": {
        var chars = Array.from(text(args[0]));
        var start = toNumber(args[1]), end = args.length > 2 ? toNumber(args[2]) : chars.length;
        if (isNaN(start) || isNaN(end)) return "";
        return chars.slice(Math.max(0, Math.trunc(start)), Math.max(0, Math.trunc(end))).join("");
      }
      case "normalize-space": return text(args[0]).split(/\s+/).filter(function (w) { return w; }).join(" ");
      case "string-length": return Array.from(text(args[0])).length;
      case "selected": {
        var wanted = text(args[1]).trim();
        return items(args[0]).some(function (x) { return text(x) === wanted; });
      }
      case "selected-at": {
        var found = items(args[0]), k = toNumber(args[1]);
        return !isNaN(k) && Math.trunc(k) >= 0 && Math.trunc(k) < found.length ? text(found[Math.trunc(k)]) : "";
      }
      case "count-selected": return items(args[0]).length;
      case "regex": return new RegExp(text(args[1]), "u").test(text(args[0]));
      case "if": return truth(args[0]) ? args[1] : args[2];
      case "coalesce": return args[0] !== null && args[0] !== "" && !(Array.isArray(args[0]) && !args[0].length) ? args[0] : args[1];
      case "once": return args[0];
      case "today": return env.today || isoDate(vietnamNow());
      case "now": return vietnamNow().toISOString().slice(0, 19) + "+07:00";
      case "date": return dateText(args[0]);
    }
    throw new ExpressionError("unknown function '" + name + "'");
  }
  function has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function ev(node, env) {
    switch (node[0]) {
      case "num": case "str": return node[1];
      case "ref": return normalise(has(env.answers, node[1]) ? env.answers[node[1]] : null);
      case "column": return normalise(has(env.choice, node[1]) ? env.choice[node[1]] : null);
      case "dot": return env.current;
      case "neg": return -toNumber(ev(node[1], env));
      case "call": return call(node[1], node[2].map(function (a) { return ev(a, env); }), env);
    }
    var op = node[1];
    if (op === "and") return truth(ev(node[2], env)) && truth(ev(node[3], env));
    if (op === "or") return truth(ev(node[2], env)) || truth(ev(node[3], env));
    var a = ev(node[2], env), b = ev(node[3], env);
    if (op === "=") return equal(a, b);
    if (op === "!=") return !equal(a, b);
    if (COMPARISONS[op]) return order(op, a, b);
    var x = toNumber(a), y = toNumber(b);
    if (op === "+") return x + y;
    if (op === "-") return x - y;
    if (op === "*") return x * y;
    if (isNaN(x) || isNaN(y) || y === 0) return NaN;
    if (op === "div") return x / y;
    return x % y;
  }
  // options: {choice: the columns of the choice a choice_filter tests, today: "YYYY-MM-DD"}
  function value(expr, answers, current, options) {
    options = options || {};
    return ev(parsed(expr), { answers: answers || {}, current: normalise(current === undefined ? null : current),
                              choice: options.choice || {}, today: options.today || null });
  }
  function evaluate(expr, answers, current, options) {
    return truth(value(expr, answers, current, options));
  }

  // -- the page: read answers, show and hide questions ---------------------------------------
  function answerOf(wrapper) {
    var inputs = wrapper.querySelectorAll("input, select, textarea");
    var checkboxes = [], radios = [], single = null;
    for (var k = 0; k < inputs.length; k++) {
      var el = inputs[k];
      if (el.type === "checkbox") checkboxes.push(el);
      else if (el.type === "radio") radios.push(el);
      else if (el.type !== "hidden" && single === null) single = el;
    }
    if (radios.length) {
      for (var r = 0; r < radios.length; r++) if (radios[r].checked) return radios[r].value;
      return null;
    }
    if (checkboxes.length === 1 && !wrapper.hasAttribute("data-multiple")) return checkboxes[0].checked;
    if (checkboxes.length) {
      return checkboxes.filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    }
    return single ? single.value : null;
  }

  // Hide the choices a choice_filter does not offer given the answers before it (the server refuses them).
  function filterChoices(wrapper, filter, answers) {
    var props = {};
    try { props = JSON.parse(wrapper.getAttribute("data-choices") || "{}"); } catch (e) { props = {}; }
    var inputs = wrapper.querySelectorAll("input[type=radio], input[type=checkbox], option");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var offered = true;
      try { offered = evaluate(filter, answers, null, { choice: props[input.value] || { name: input.value } }); }
      catch (e) { offered = true; }
      var holder = input.tagName === "OPTION" ? input : (input.closest("label") || input);
      holder.hidden = !offered;
      input.disabled = !offered;
      if (!offered) { if (input.tagName === "OPTION") input.selected = false; else input.checked = false; }
    }
  }

  function apply(form) {
    var wrappers = form.querySelectorAll("[data-question]");
    var answers = {};
    for (var k = 0; k < wrappers.length; k++) {
      var w = wrappers[k];
      var expr = w.getAttribute("data-relevant");
      var shown = true;
      if (expr) {
        try { shown = evaluate(expr, answers); } catch (e) { shown = true; }
      }
      var name = w.getAttribute("data-question");
      var calculation = w.getAttribute("data-calculate");
      if (calculation !== null) {  // no input: computed from the answers before it, as on the server
        var result = null;
        try { result = shown ? value(calculation, answers) : null; } catch (e) { result = null; }
        var shownText = result === null ? "" : text(result);
        answers[name] = shownText === "" || shownText === "NaN" ? null : shownText;
        continue;
      }
      w.hidden = !shown;
      var controls = w.querySelectorAll("input, select, textarea");
      for (var c = 0; c < controls.length; c++) controls[c].disabled = !shown;
      var filter = w.getAttribute("data-choice-filter");
      if (filter && shown) filterChoices(w, filter, answers);
      answers[name] = shown ? answerOf(w) : null;
    }
    return answers;
  }

  function bind(form) {
    var update = function () { apply(form); };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  var api = { parse: parse, evaluate: evaluate, value: value, text: text, apply: apply, bind: bind,
              ExpressionError: ExpressionError };
  root.SkipLogic = api;
  if (typeof document !== "undefined") {
    var start = function () {
      var forms = document.querySelectorAll("form[data-skip-logic]");
      for (var k = 0; k < forms.length; k++) bind(forms[k]);
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})(typeof window !== "undefined" ? window : this);
