// Durable storage for the enumerator app: a tiny promise wrapper over IndexedDB.
// Stores: "kv" (token, user, assignments, questionnaire definitions by "id@version"),
// "drafts" (interviews in progress), "outbox" (finished, not yet confirmed by the server),
// "sent" (ids the server confirmed, for the status screen).
(function () {
  "use strict";
  var DB_NAME = "hailong-enumerator";
  var STORES = ["kv", "drafts", "outbox", "sent"];
  var dbPromise = null;

  function open() {
    if (dbPromise) { return dbPromise; }
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        STORES.forEach(function (name) {
          if (!db.objectStoreNames.contains(name)) {
            db.createObjectStore(name, name === "kv" ? undefined : { keyPath: "id" });
          }
        });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }
    return dbPromise;
  }

  function run(storeNames, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeNames, mode);
        var result;
        Promise.resolve(work(tx, function (value) { result = value; })).catch(reject);
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  window.HailongStore = {
    get: function (store, key) {
      return run([store], "readonly", function (tx, done) {
        return request(tx.objectStore(store).get(key)).then(done);
      });
    },
    put: function (store, value, key) {
      return run([store], "readwrite", function (tx) {
        tx.objectStore(store).put(value, key);
      });
    },
    remove: function (store, key) {
      return run([store], "readwrite", function (tx) { tx.objectStore(store)["delete"](key); });
    },
    all: function (store) {
      return run([store], "readonly", function (tx, done) {
        return request(tx.objectStore(store).getAll()).then(done);
      });
    },
    count: function (store) {
      return run([store], "readonly", function (tx, done) {
        return request(tx.objectStore(store).count()).then(done);
      });
    },
    // Move a finished draft into the outbox in one transaction: never in both, never in neither.
    finishDraft: function (draftId, item) {
      return run(["drafts", "outbox"], "readwrite", function (tx) {
        tx.objectStore("outbox").put(item);
        tx.objectStore("drafts")["delete"](draftId);
      });
    },
    // The server confirmed these ids: remember them as sent, then drop them from the outbox.
    confirm: function (ids) {
      return run(["outbox", "sent"], "readwrite", function (tx) {
        ids.forEach(function (id) {
          tx.objectStore("sent").put({ id: id, at: new Date().toISOString() });
          tx.objectStore("outbox")["delete"](id);
        });
      });
    }
  };
})();
