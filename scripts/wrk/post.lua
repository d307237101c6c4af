-- POST with the same small JSON body and no key: the baseline for keyed requests.
request = function()
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, "{\"amount\":10000}")
end
