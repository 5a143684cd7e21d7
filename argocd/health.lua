-- Argo CD health check for tenantdb.platform.io/TenantDatabase (claim and
-- namespaced flavour alike). Install as
--   resource.customizations.health.tenantdb.platform.io_TenantDatabase
-- in argocd-cm (see argocd/argocd-cm-patch.yaml and docs/argocd.md).
--
-- Conditions: Synced and Ready are set by Crossplane, Provisioned by the
-- TenantDatabase function: True/Available; False/Waiting with "Waiting for:
-- ..." naming what is not ready yet; or False with the class of a refusal as
-- its reason (InvalidSpec, NotAllowed, ...) and the field and the fix as its
-- message. A refused claim keeps Synced True and Ready False ("waiting for
-- composite resource"): Provisioned is the only place that says why.
--
-- Lua 5.1 only (Argo CD runs gopher-lua): no goto, no integer division.

local hs = {}

local function condition(conditions, conditionType)
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.type .. ": " .. c.reason
  end
  return fallback
end

local function check(o)
  if o.metadata ~= nil and o.metadata.deletionTimestamp ~= nil then
    return "Progressing", "Deleting"
  end

  local conditions = nil
  if o.status ~= nil then
    conditions = o.status.conditions
  end
  if type(conditions) ~= "table" or #conditions == 0 then
    return "Progressing", "Waiting for Crossplane"
  end

  local synced = condition(conditions, "Synced")
  local ready = condition(conditions, "Ready")
  local provisioned = condition(conditions, "Provisioned")

  if synced ~= nil and synced.status == "False" then
    return "Degraded", describe(synced, "Synced: False")
  end

  -- Refused: nothing of the last change was applied, whatever Ready says.
  if provisioned ~= nil and provisioned.status == "False" and provisioned.reason ~= "Waiting" then
    return "Degraded", describe(provisioned, "Refused")
  end

  if ready ~= nil and ready.status == "True" then
    if provisioned ~= nil and provisioned.status == "True" then
      return "Healthy", describe(provisioned, "Available")
    end
    return "Healthy", describe(ready, "Available")
  end

  if provisioned ~= nil and provisioned.status == "False" then
    return "Progressing", describe(provisioned, "Provisioning")
  end

  if ready ~= nil and ready.status == "False" then
    if ready.reason == "Creating" or ready.reason == "Waiting" then
      return "Progressing", describe(ready, "Ready: " .. ready.reason)
    end
    return "Degraded", describe(ready, "Ready: False")
  end

  if ready ~= nil then
    return "Progressing", describe(ready, "Waiting for Crossplane")
  end
  return "Progressing", "Waiting for Crossplane"
end

hs.status, hs.message = check(obj)
return hs
