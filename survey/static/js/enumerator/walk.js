// The interview as the server sees it (survey/collect/forms.py, _walk): the questions in order,
// each one's skip logic evaluated on the answers BEFORE it, a hidden question counted as
// unanswered for the ones after it, and every `calculate` question computed from those answers
// with the shared evaluator (skiplogic.js, the same language as questionnaires/expressions.py)
// and kept as the text the server stores. The server recomputes calculations and stays the
// single source of truth; this shows the enumerator the values and the questions that apply.
(function (root) {
  "use strict";

  function walk(questions, given, engine) {
    engine = engine || root.SkipLogic;
    var answers = {}, shown = {};
    for (var i = 0; i < questions.length; i++) {
      var q = questions[i];
      var visible = true;
      if (q.relevant && engine) {
        try { visible = !!engine.evaluate(q.relevant, answers); } catch (e) { visible = true; }
      }
      if (q.calculation !== undefined && q.calculation !== null) {
        var result = null;
        if (visible && engine) {
          try { result = engine.value(q.calculation, answers); } catch (e) { result = null; }
        }
        var text = result === null || result === undefined ? "" : engine.text(result);
        answers[q.id] = text === "" || text === "NaN" ? null : text;
      } else {
        var v = given[q.id];
        answers[q.id] = visible && v !== undefined ? v : null;
      }
      shown[q.id] = visible;
    }
    return { answers: answers, shown: shown };
  }

  root.HailongWalk = { walk: walk };
})(typeof window !== "undefined" ? window : this);
